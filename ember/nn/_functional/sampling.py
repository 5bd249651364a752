"""Sampling: ``grid_sample`` and ``affine_grid`` (reading an image at arbitrary points) and
``gumbel_softmax`` (a differentiable draw from a categorical distribution).

``grid_sample`` is one op per dimensionality (``GridSampler2D``, ``GridSampler3D``, PyTorch's
node names). For every output point its forward finds the input pixels it reads, the
*taps* (per spatial dim: two for (tri)linear, four for bicubic, one for nearest), and
their weights, each a polynomial in the point's fractional position t. The output is
Σ_taps weight · pixel. Within a call t is an affine function of the grid (the
unnormalization, then padding's clip or reflection, which is affine between its breaks),
so the weights are written once over an array namespace, and so is the derivative: the
input's gradient scatters grad · weight back onto the taps (repeated taps add up), the
grid's is Σ_taps grad · pixel · ∂weight/∂t · ∂t/∂grid. Run on ember's ops, that backward
is recorded, so ``grid_sample`` can be differentiated twice.

``affine_grid`` and ``gumbel_softmax`` are compositions of ember ops.
"""

from __future__ import annotations

import math
import warnings

from ember import _tape
from ember._autocast import FLOAT32, autocasts
from ember._backend import device_index, to_device, xp
from ember._tensor import Tensor
from ember.ops._array_math import ArrayMath
from ember.ops._function import Op, _legacy
from ember.ops.creation import empty_like, zeros_like
from ember.ops.matmul import matmul
from ember.ops.softmax import softmax

__all__ = ["grid_sample", "affine_grid", "gumbel_softmax"]

_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")
_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)

# Each tap's weight as polynomial coefficients in t (lowest power first). Cubic convolution
# with A = -0.75, as PyTorch's: the taps at -1, 0, 1, 2 weigh
# A(t³ - 2t² + t), (A+2)t³ - (A+3)t² + 1, -(A+2)t³ + (2A+3)t² - At, A(t² - t³).
_A = -0.75
_COEFFICIENTS = {
    "bilinear": ((1.0, -1.0), (0.0, 1.0)),
    "bicubic": (
        (0.0, _A, -2 * _A, _A),
        (1.0, 0.0, -(_A + 3), _A + 2),
        (0.0, -_A, 2 * _A + 3, -(_A + 2)),
        (0.0, 0.0, _A, -_A),
    ),
}


# ---------------------------------------------------------------- grid_sample's op


class _Plan:
    """What a forward found for its grid (arrays, none of them differentiated).

    ``index`` (T·N·C·P,): where each tap reads the input seen as N·C planes of L pixels,
    each followed by a zero that the taps outside the image read; for T taps per point, N
    images, C channels and P output points (flat: NumPy scatters fastest along one axis).
    Per spatial dim d, t_d = grid_d · ``scales[d]`` + ``lags[d]`` (each (N, P)), and
    ``axes[d]`` is the one-hot row that picks grid_d from the grid's last dim.
    ``coefficients`` (taps per dim, powers) are the weight polynomials and ``derivatives``
    theirs; None for nearest.
    """

    __slots__ = ("index", "taps", "scales", "lags", "axes", "coefficients", "derivatives",
                 "shape", "points")


def _unnormalize(g, size: int, align_corners: bool):
    """The pixel coordinate of normalized ``g`` in [-1, 1], and its derivative."""
    if align_corners:
        return (g + 1) / 2 * (size - 1), (size - 1) / 2
    return ((g + 1) * size - 1) / 2, size / 2


def _clip(x, size: int):
    """``x`` clipped to the image; the border itself counts as outside (slope 0), as in
    PyTorch's gradient."""
    slope = (x > 0) & (x < size - 1)
    return xp.clip(x, 0, size - 1), slope


def _reflect(x, size: int, align_corners: bool):
    """``x`` reflected about the image's edges (pixel centres with ``align_corners``, else
    the outer pixel edges) until inside, then clipped; and the slope, ±1 or 0."""
    twice_low, twice_high = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
    if twice_low == twice_high:
        return xp.zeros_like(x), xp.zeros_like(x, dtype=bool)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    shifted = x - low
    sign = xp.where(shifted < 0, -1, 1)
    distance = xp.abs(shifted)
    extra = xp.fmod(distance, span)
    odd = xp.floor(distance / span) % 2 == 1
    reflected = xp.where(odd, span - extra + low, extra + low)
    clipped, inside = _clip(reflected, size)
    return clipped, xp.where(odd, -sign, sign) * inside


def _pad(x, size: int, padding_mode: str, align_corners: bool):
    """PyTorch's ``compute_coordinates``: the padded coordinate and its slope."""
    if padding_mode == "border":
        return _clip(x, size)
    if padding_mode == "reflection":
        return _reflect(x, size, align_corners)
    return x, 1


_TAPS = {"nearest": 1, "bilinear": 2, "bicubic": 4}


def _dim_taps(g, size: int, mode: str, padding_mode: str, align_corners: bool) -> tuple:
    """For one spatial dim, from its grid coordinates ``g`` (N, P): the taps' pixel indices
    (taps, N, P), which of them lie inside the image, and t's scale and lag (both (N, P))."""
    x, scale = _unnormalize(g, size, align_corners)
    if mode == "bicubic":  # padding maps each tap, and has no part in the gradient
        base = xp.floor(x)
        taps = base + xp.arange(-1, 3, dtype=x.dtype, like=x)[:, None, None]
        taps = _pad(taps, size, padding_mode, align_corners)[0]
    else:
        x, slope = _pad(x, size, padding_mode, align_corners)
        scale = scale * slope
        base = xp.rint(x) if mode == "nearest" else xp.floor(x)  # rint: ties to even
        taps = base + xp.arange(_TAPS[mode], dtype=x.dtype, like=x)[:, None, None]
    scale = xp.broadcast_to(xp.asarray(scale, dtype=x.dtype, like=x), g.shape)
    inside = (taps >= 0) & (taps <= size - 1)  # NaN is outside too
    return xp.where(inside, taps, 0).astype(xp.int64), inside, scale, (x - base) - scale * g


def _plan(shape: tuple, grid, mode: str, padding_mode: str, align_corners: bool) -> _Plan:
    batch, channels, *sizes = shape
    count = len(sizes)
    plan = _Plan()
    plan.shape, plan.points, plan.taps = shape, math.prod(grid.shape[1:-1]), _TAPS[mode] ** count
    plan.coefficients = plan.derivatives = None
    if mode != "nearest":
        plan.coefficients = xp.asarray(_COEFFICIENTS[mode], dtype=grid.dtype, like=grid)
        powers = xp.arange(1, plan.coefficients.shape[1], dtype=grid.dtype, like=grid)
        plan.derivatives = plan.coefficients[:, 1:] * powers
    eye = xp.eye(count, dtype=grid.dtype, like=grid)
    plan.axes = [eye[count - 1 - d] for d in range(count)]
    plan.scales, plan.lags = [], []
    points = grid.reshape(batch, plan.points, count)
    index, inside = 0, True
    for d, size in enumerate(sizes):
        taps, valid, scale, lag = _dim_taps(points[..., count - 1 - d], size, mode,
                                            padding_mode, align_corners)
        plan.scales.append(scale)
        plan.lags.append(lag)
        place = [1] * count + [batch, plan.points]  # this dim's taps on axis d
        place[d] = taps.shape[0]
        index = index + taps.reshape(place) * math.prod(sizes[d + 1:])
        inside = inside & valid.reshape(place)
    area = math.prod(sizes)
    index = xp.where(inside, index, area).reshape(plan.taps, batch, 1, plan.points)
    planes = xp.arange(batch * channels, like=grid).reshape(1, batch, channels, 1)
    plan.index = (index + planes * (area + 1)).reshape(-1)
    return plan


def _polynomial(xp, coefficients, t):
    """Σ_j coefficients[:, j] · t^j for each tap: (taps, *t.shape), or (taps, 1, 1) when
    the polynomials are constants."""
    total, power = None, None
    for j in range(coefficients.shape[1]):
        column = xp.asarray(coefficients[:, j].reshape(-1, 1, 1))
        if j:
            power = t if power is None else power * t
            column = column * power
        total = column if total is None else total + column
    return total


def _product(xp, factors: list, plan: _Plan):
    """The (T, N, P) product of one (taps, N, P) factor per spatial dim, over every
    combination of taps."""
    count = len(factors)
    combined = None
    for d, factor in enumerate(factors):
        place = [1] * count + list(factor.shape[1:])
        place[d] = factor.shape[0]
        factor = xp.reshape(factor, place)
        combined = factor if combined is None else combined * factor
    return xp.reshape(combined, (plan.taps, plan.shape[0], plan.points))


def _weights(xp, grid, plan: _Plan, slopes: bool):
    """Each tap's weight (T, N, P) and, with ``slopes``, per spatial dim its derivative by
    that dim's grid coordinate; nearest has no weights (None)."""
    if plan.coefficients is None:
        return None, None
    batch, points = plan.shape[0], plan.points
    count = len(plan.axes)
    grid = xp.reshape(grid, (batch, points, count))
    fractions = [
        xp.sum(grid * xp.asarray(axis), axis=-1) * xp.asarray(scale) + xp.asarray(lag)
        for axis, scale, lag in zip(plan.axes, plan.scales, plan.lags)
    ]
    factors = [_polynomial(xp, plan.coefficients, t) for t in fractions]
    weights = _product(xp, factors, plan)
    if not slopes:
        return weights, None
    found = []
    for d, t in enumerate(fractions):
        changed = factors[:d] + [_polynomial(xp, plan.derivatives, t)] + factors[d + 1:]
        found.append(_product(xp, changed, plan) * xp.asarray(plan.scales[d]))
    return weights, found


def _planes(plan: _Plan) -> int:
    return plan.shape[0] * plan.shape[1]


def _taps(xp, input, plan: _Plan):
    """The pixel each tap reads (T, N, C, P): zero outside the image."""
    planes = xp.reshape(input, (_planes(plan), math.prod(plan.shape[2:])))
    flat = xp.reshape(xp.pad(planes, ((0, 0), (0, 1))), (-1,))
    return xp.reshape(xp.get_at(flat, ((), (plan.index,))), (plan.taps, *plan.shape[:2],
                                                              plan.points))


class GridSampler2D(Op):
    """``input`` (N, C, *S) read at ``grid`` (N, *out, dims): (N, C, *out)."""

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        plan = _plan(input.shape, grid, mode, padding_mode, align_corners)
        ctx.plan = plan
        ctx.save_for_backward(input, grid)
        values = _taps(ArrayMath, input, plan)
        weights = _weights(ArrayMath, grid, plan, False)[0]
        out = values[0] if weights is None else xp.einsum("tnp,tncp->ncp", weights, values)
        return out.reshape(plan.shape[:2] + grid.shape[1:-1])

    @staticmethod
    def gradients(xp, ctx, grad):
        input, grid = xp.saved(ctx)
        plan = ctx.plan
        needs = ctx.needs_input_grad
        grad = xp.reshape(grad, (*plan.shape[:2], plan.points))
        weights, slopes = _weights(xp, grid, plan, needs[1])
        grad_input = grad_grid = None
        if needs[0]:
            spread = xp.expand_dims(grad, 0)  # nearest: each point reads its one tap
            if weights is not None:
                spread = xp.expand_dims(weights, 2) * spread
            area = math.prod(plan.shape[2:])
            flat = xp.add_at_zeros((_planes(plan) * (area + 1),), ((), (plan.index,)),
                                   xp.reshape(spread, (-1,)))
            planes = xp.reshape(flat, (_planes(plan), area + 1))
            grad_input = xp.reshape(xp.get_at(planes, ((slice(None), slice(0, area)), None)),
                                    plan.shape)
        if needs[1]:
            if slopes is None:  # nearest: piecewise constant in the grid
                grad_grid = xp.zeros_like(grid)
            else:
                pulled = xp.sum(_taps(xp, input, plan) * grad, axis=2)  # (T, N, P)
                for axis, slope in zip(plan.axes, slopes):
                    part = xp.expand_dims(xp.sum(pulled * slope, axis=0), -1) * xp.asarray(axis)
                    grad_grid = part if grad_grid is None else grad_grid + part
                grad_grid = xp.reshape(grad_grid, grid.shape)
        return grad_input, grad_grid, None, None, None


class GridSampler3D(GridSampler2D):
    """``GridSampler2D`` on volumes (N, C, D, H, W), under PyTorch's node name."""


# ---------------------------------------------------------------- grid_sample


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str) -> None:
    """PyTorch's checks, in its order."""
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid and input to have same batch size, but got input "
            f"with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, "
            f"but got grid with sizes {list(grid.shape)}"
        )
    for dim in range(2, input.ndim):
        if input.shape[dim] <= 0:
            raise RuntimeError(
                "grid_sampler(): expected input to have non-empty spatial dimensions, but "
                f"input has sizes {list(input.shape)} with dimension {dim} being empty"
            )
    expected = 4 if input.ndim == 4 else 5
    if input.ndim != expected or grid.ndim != expected:
        raise RuntimeError(
            f"grid_sampler(): expected {expected}D input and grid with same number of "
            f"dimensions, but got input with sizes {list(input.shape)} and grid with sizes "
            f"{list(grid.shape)}"
        )
    if mode == "bicubic" and input.ndim == 5:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.dtype.is_floating_point:
        kernel = "grid_sampler_2d_cpu_kernel_impl" if input.ndim == 4 else "grid_sampler3d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_legacy(input.dtype)}\'')
    if grid.dtype != input.dtype:
        raise RuntimeError(
            f"expected scalar type {_legacy(input.dtype)} but found {_legacy(grid.dtype)}"
        )


@autocasts(FLOAT32)
def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Read ``input`` at the points of ``grid``: out[n, c, p] = Σ_taps w · input[n, c, tap].

    ``grid[n, p]`` holds normalized coordinates (x, y) (or (x, y, z) for volumes) in
    [-1, 1]: -1 is the left (top, front) edge of the image and 1 the right one: the
    centres of the corner pixels with ``align_corners=True``, their outer edges with
    False. A pixel coordinate is u = (g + 1)(size - 1)/2, or ((g + 1) size - 1)/2.

    Args:
        input: (N, C, H, W), or (N, C, D, H, W) for volumes.
        grid: (N, H_out, W_out, 2), or (N, D_out, H_out, W_out, 3).
        mode: ``'bilinear'`` (trilinear on volumes), ``'nearest'`` (round half to even) or
            ``'bicubic'`` (cubic convolution, A = -0.75; 4-D only).
        padding_mode: what a point outside reads: ``'zeros'``, ``'border'`` (the nearest
            edge pixel) or ``'reflection'`` (the image mirrored at its edges).
        align_corners: see above; None is False, with PyTorch's warning.

    Shape: (N, C, *S) and (N, *out, len(S)) → (N, C, *out).

    Returns:
        The sampled tensor, differentiable in ``input`` and ``grid`` (nearest: the grid's
        gradient is zero).

    Example::

        >>> image = ember.arange(4.).reshape(1, 1, 2, 2)
        >>> F.grid_sample(image, ember.zeros(1, 1, 1, 2), align_corners=False)
        tensor([[[[1.5000]]]])
    """
    if mode not in _MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in _PADDINGS:
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    _check_grid_sample(input, grid, mode)
    op = GridSampler2D if input.ndim == 4 else GridSampler3D
    return op.apply(input, grid, mode, padding_mode, bool(align_corners))


# ---------------------------------------------------------------- affine_grid


def _base_coordinates(size: int, align_corners: bool):
    """The normalized coordinates of ``size`` pixel centres along one dim."""
    if size <= 1:
        return xp.zeros(size)
    steps = xp.linspace(-1.0, 1.0, size)
    return steps if align_corners else steps * ((size - 1) / size)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of the affine maps ``theta``, for ``grid_sample``.

    grid[n, h, w] = θ_n · (x_w, y_h, 1), with x, y the normalized coordinates of the
    output's pixel centres (see ``grid_sample`` for ``align_corners``); on volumes
    grid[n, d, h, w] = θ_n · (x_w, y_h, z_d, 1).

    Args:
        theta: (N, 2, 3) affine maps, or (N, 3, 4) for volumes.
        size: the output size (N, C, H, W) or (N, C, D, H, W).
        align_corners: None is False, with PyTorch's warning.

    Shape: → (N, H, W, 2) or (N, D, H, W, 3).

    Returns:
        The grid, differentiable in ``theta``.

    Example::

        >>> F.affine_grid(ember.eye(2, 3)[None], (1, 1, 2, 2), align_corners=True)[0, 0]
        tensor([[-1., -1.],
                [ 1., -1.]])
    """
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    count = len(size) - 2
    if count not in (2, 3):
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    rows, columns = count, count + 1
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (rows, columns):
        raise ValueError(
            f"Expected a batch of {count}D affine matrices of shape Nx{rows}x{columns} for size "
            f"{size}. Got {theta.shape}."
        )
    spatial = [int(s) for s in size[2:]]
    if min(int(s) for s in size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the "
            "documentation of affine_grid for details.",
            stacklevel=2,
        )
    if theta.shape[0] != int(size[0]):
        raise RuntimeError(
            "Expected size for first two dimensions of batch2 tensor to be: "
            f"[{int(size[0])}, {columns}] but got: [{theta.shape[0]}, {columns}]."
        )
    axes = [_base_coordinates(s, align_corners) for s in reversed(spatial)]  # x, y, z
    mesh = xp.meshgrid(*axes, indexing="ij")  # indexed (x, y[, z]): reversed below
    base = xp.stack([*mesh, xp.ones_like(mesh[0])], axis=-1).transpose(
        *reversed(range(count)), count
    )
    base = _tape.made(Tensor._make(to_device(
        base.reshape(1, -1, columns).astype(theta._data.dtype), device_index(theta._data))))
    grid = matmul(base, theta.transpose(1, 2))
    return grid.reshape(int(size[0]), *spatial, count)


# ---------------------------------------------------------------- gumbel_softmax


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A sample of the Gumbel-softmax distribution: softmax((logits + g) / τ) along ``dim``,
    g = -log(E) with E ~ Exponential(1) (a standard Gumbel draw per entry).

    Args:
        logits: unnormalized log-probabilities.
        tau: the temperature τ > 0; small τ gives nearly one-hot samples.
        hard: return the one-hot vector of each sample's argmax, with the soft sample's
            gradient (the straight-through estimator: y_hard - y_soft.detach() + y_soft).
        eps: deprecated, no effect (a warning when given).
        dim: the dim the categories lie along.

    Shape: any → the same.

    Returns:
        The sample; each slice along ``dim`` sums to 1 (one-hot with ``hard``).

    Example::

        >>> F.gumbel_softmax(ember.zeros(2, 3), hard=True).sum(-1)
        tensor([1., 1.])
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -empty_like(logits).exponential_().log()
    soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    index = soft.max(dim, keepdim=True)[1]
    one_hot = zeros_like(logits).scatter_(dim, index, 1.0)
    return one_hot - soft.detach() + soft
