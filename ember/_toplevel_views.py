"""More ``torch.*`` top-level names: the ``X_copy`` forms of views, the scatter forms
(``slice_scatter`` ...), ``as_strided``, ``unravel_index``, ``vander``, ``rsub``,
``index_reduce``, the real-dtype no-ops of complex support (``conj``, ``real`` ...),
build flags, and the names scripts catch or construct (``OutOfMemoryError``,
``GradScaler``).

All are compositions of ember's differentiable ops.
"""

import ember
from ember._autocast import FLOAT32, autocasts
from ember._tensor import Tensor
from ember.amp import GradScaler
from ember.nn import functional as F

__all__ = [
    "AcceleratorError",
    "GradScaler",
    "OutOfMemoryError",
    "alias_copy",
    "as_strided",
    "as_strided_copy",
    "cholesky_inverse",
    "cholesky_solve",
    "conj",
    "conj_physical",
    "detach_copy",
    "diagonal_copy",
    "diagonal_scatter",
    "expand_copy",
    "feature_dropout",
    "feature_dropout_",
    "has_lapack",
    "has_mkl",
    "has_openmp",
    "has_spectral",
    "imag",
    "index_reduce",
    "init_num_threads",
    "is_distributed",
    "is_storage",
    "is_vulkan_available",
    "max_pool1d_with_indices",
    "permute_copy",
    "real",
    "resolve_conj",
    "resolve_neg",
    "rsub",
    "select_copy",
    "select_scatter",
    "set_anomaly_enabled",
    "set_flush_denormal",
    "slice_copy",
    "slice_scatter",
    "split_copy",
    "split_with_sizes_copy",
    "squeeze_copy",
    "t_copy",
    "to_dlpack",
    "transpose_copy",
    "typename",
    "unbind_copy",
    "unfold_copy",
    "unravel_index",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
    "unsqueeze_copy",
    "vander",
    "view_copy",
]

# Build facts PyTorch exposes as module constants: ember's linear algebra is NumPy's
# LAPACK; it is not built against MKL or OpenMP and has no FFT module.
has_lapack = True
has_mkl = False
has_openmp = False
has_spectral = False


def _copy_of(view_name: str):
    def copied(input: Tensor, *args, **kwargs):
        result = getattr(input, view_name)(*args, **kwargs)
        if isinstance(result, (tuple, list)):
            return tuple(part.clone() for part in result)
        return result.clone()

    copied.__name__ = copied.__qualname__ = f"{view_name}_copy"
    copied.__doc__ = (f"``input.{view_name}(...)`` as a new tensor that shares no memory "
                      "with ``input``.")
    return copied


detach_copy = _copy_of("detach")
diagonal_copy = _copy_of("diagonal")
expand_copy = _copy_of("expand")
permute_copy = _copy_of("permute")
select_copy = _copy_of("select")
split_copy = _copy_of("split")
split_with_sizes_copy = _copy_of("split_with_sizes")
squeeze_copy = _copy_of("squeeze")
t_copy = _copy_of("t")
transpose_copy = _copy_of("transpose")
unbind_copy = _copy_of("unbind")
unfold_copy = _copy_of("unfold")
unsqueeze_copy = _copy_of("unsqueeze")
view_copy = _copy_of("view")


def alias_copy(input: Tensor) -> Tensor:
    """A copy of ``input`` (``torch.alias`` is a view of the same data)."""
    return input.clone()


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0):
    """``torch.chunk`` (PyTorch's "unsafe" form only skips view bookkeeping)."""
    return ember.chunk(input, chunks, dim)


def unsafe_split(input: Tensor, split_size, dim: int = 0):
    """``torch.split`` (PyTorch's "unsafe" form only skips view bookkeeping)."""
    return ember.split(input, split_size, dim)


def unsafe_split_with_sizes(input: Tensor, split_sizes, dim: int = 0):
    """``torch.split_with_sizes`` under its "unsafe" name."""
    return input.split_with_sizes(split_sizes, dim)


def _slice_index(input, dim, start, end, step):
    dim = dim % input.dim()
    return (slice(None),) * dim + (slice(start, end, step),)


def slice_copy(input: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """``input`` sliced ``start:end:step`` along ``dim``, as a new tensor."""
    return input[_slice_index(input, dim, start, end, step)].clone()


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None,
                  step: int = 1) -> Tensor:
    """A copy of ``input`` with the slice ``start:end:step`` along ``dim`` replaced by ``src``."""
    index = _slice_index(input, dim, start, end, step)
    _check_embedded_shape("slice_scatter", input[index], src)
    result = input.clone()
    result[index] = src
    return result


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    _check_embedded_shape("select_scatter", input.select(dim, index), src)
    result = input.clone()
    result.select(dim, index).copy_(src)
    return result


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``."""
    _check_embedded_shape("diagonal_scatter", input.diagonal(offset, dim1, dim2), src)
    result = input.clone()
    result.diagonal(offset, dim1, dim2).copy_(src)
    return result


def _check_embedded_shape(op_name, region, src):
    if tuple(region.shape) != tuple(src.shape):
        raise RuntimeError(
            f"{op_name}: expected src to have a size equal to the slice of self. src size = "
            f"{list(src.shape)}, slice size = {list(region.shape)}"
        )


def as_strided(input: Tensor, size, stride, storage_offset=None) -> Tensor:
    """A tensor of ``size`` whose element ``i`` is read at ``offset + sum(i_k * stride_k)``.

    ember reads positions within ``input``'s own elements, so ``input`` must be contiguous
    and every position must fall inside it; PyTorch would also read the rest of the
    storage ``input`` views, which ember refuses rather than guess.
    """
    size, stride = [int(s) for s in size], [int(s) for s in stride]
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: sizes {size} has "
                           f"{len(size)} dims, strides {stride} has {len(stride)}")
    if not input.is_contiguous():
        raise RuntimeError("as_strided: ember reads a contiguous input only; call "
                           ".contiguous() first")
    base = input.storage_offset()
    offset = base if storage_offset is None else int(storage_offset)
    positions = ember.full(size, offset - base, dtype=ember.int64, device=input.device)
    for dim, (extent, step) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[dim] = extent
        positions = positions + (ember.arange(extent, device=input.device) * step).reshape(shape)
    if positions.numel() and (int(positions.min()) < 0 or int(positions.max())
                              >= input.numel()):
        raise RuntimeError(
            f"as_strided: sizes {size}, strides {stride} and storage offset {offset} reach "
            f"outside the {input.numel()} elements of the input (storage offset {base})"
        )
    return input.reshape(-1)[positions]


def as_strided_copy(input: Tensor, size, stride, storage_offset=None) -> Tensor:
    """``as_strided`` (which already copies in ember)."""
    return as_strided(input, size, stride, storage_offset)


def unravel_index(indices, shape):
    """The coordinates of flat ``indices`` in a tensor of ``shape``, one tensor per dim.

    As in PyTorch, indices wrap around (``-1`` is the last element).
    """
    if not isinstance(indices, Tensor):
        indices = ember.tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype == ember.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = [int(shape)] if isinstance(shape, int) else [int(s) for s in shape]
    if any(extent < 0 for extent in shape):
        raise ValueError("'shape' cannot have negative values, but got "
                         f"{tuple(shape)}")
    coordinates, stride = [], 1
    for extent in reversed(shape):
        coordinates.append(ember.remainder(ember.floor_divide(indices, stride), extent))
        stride *= extent
    return tuple(reversed(coordinates))


def vander(x: Tensor, N=None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-D ``x``: column ``j`` is ``x ** j`` (reversed unless
    ``increasing``), ``N`` columns (``len(x)`` by default)."""
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    columns = x.shape[0] if N is None else N
    if columns < 0:
        raise RuntimeError("N must be non-negative.")
    if columns == 0:
        return ember.empty(x.shape[0], 0, dtype=x.dtype)
    ones = ember.ones_like(x).unsqueeze(-1)
    powers = [ones]
    if columns > 1:
        repeated = x.unsqueeze(-1).expand(x.shape[0], columns - 1)
        powers.append(ember.cumprod(repeated, dim=-1))
    result = ember.cat(powers, dim=-1)
    return result if increasing else result.flip(-1)


def rsub(input: Tensor, other, alpha=1) -> Tensor:
    """``other - alpha * input``."""
    return ember.sub(other if isinstance(other, Tensor) else ember.tensor(other,
                     dtype=input.dtype), input, alpha=alpha)


@autocasts(FLOAT32)
def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """Solve ``A X = B`` given the Cholesky factor ``L`` of ``A`` (``U`` when ``upper``)."""
    lower = L.transpose(-2, -1) if upper else L
    halfway = ember.linalg.solve_triangular(lower, B, upper=False)
    return ember.linalg.solve_triangular(lower.transpose(-2, -1), halfway, upper=True)


@autocasts(FLOAT32)
def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """The inverse of ``A`` from its Cholesky factor ``L`` (``U`` when ``upper``)."""
    identity = ember.eye(L.shape[-1], dtype=L.dtype).expand(L.shape)
    return cholesky_solve(identity, L, upper)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode=False):
    """``torch.max_pool1d_with_indices``: ``(values, indices)``."""
    if isinstance(stride, (list, tuple)) and len(stride) == 0:
        stride = None
    return F.max_pool1d_with_indices(input, kernel_size, stride, padding, dilation,
                                     ceil_mode)


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switch anomaly mode on or off (without the warning ``detect_anomaly`` gives)."""
    ember.autograd.anomaly_mode.set_detect_anomaly(enabled, check_nan)


def conj(input: Tensor) -> Tensor:
    """``input`` itself: conjugation is the identity without complex dtypes."""
    return input


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself: no ember tensor carries a lazy conjugation."""
    return input


def resolve_neg(input: Tensor) -> Tensor:
    """``input`` itself: no ember tensor carries a lazy negation."""
    return input


def conj_physical(input: Tensor) -> Tensor:
    """A copy of ``input`` (the conjugate of a real tensor)."""
    return input.clone()


def real(input: Tensor) -> Tensor:
    """``input`` itself: a real tensor is its own real part."""
    return input


def imag(input: Tensor) -> Tensor:
    """Refused as in PyTorch: real tensors have no imaginary part to view."""
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def is_storage(obj) -> bool:
    """False: ember has no storage objects."""
    return False


def is_distributed(input: Tensor) -> bool:
    """False, as in PyTorch for every ordinary tensor."""
    return False


def init_num_threads() -> None:
    """Nothing to do: ember's thread pool (the BLAS library's) starts itself."""


class OutOfMemoryError(RuntimeError):
    """PyTorch's out-of-memory error, so ``except torch.OutOfMemoryError`` runs.

    ember raises NumPy's ``MemoryError`` when an allocation fails; this class exists for
    scripts that name PyTorch's.
    """


class AcceleratorError(RuntimeError):
    """PyTorch's accelerator (device runtime) error; ember has no accelerator to fail."""


def typename(obj) -> str:
    """PyTorch's type name: ``torch.FloatTensor`` for a float32 tensor, else the class path."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", None) else f"{module}.{name}"


def is_vulkan_available() -> bool:
    """False: ember has no Vulkan backend."""
    return False


def set_flush_denormal(mode: bool) -> bool:
    """Refused quietly as on a CPU without the feature: returns False, changes nothing.

    NumPy gives no control over the CPU's denormal flags, so ember cannot flush them.
    """
    return False


def to_dlpack(tensor: Tensor):
    """A DLPack capsule of the tensor's data (read it with any DLPack consumer)."""
    return tensor.detach()._data.__dlpack__()  # a CuPy array exports its GPU memory


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zero whole channels (dim 1) with probability ``p``, scaling the rest by 1 / (1 - p)."""
    return _feature_dropout(input, p, train, inplace=False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``feature_dropout``."""
    return _feature_dropout(input, p, train, inplace=True)


def _feature_dropout(input, p, train, inplace):
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    by_rank = {2: F.dropout1d, 3: F.dropout1d, 4: F.dropout2d, 5: F.dropout3d}
    if input.dim() in by_rank:
        return by_rank[input.dim()](input, p, train, inplace)
    # One keep/drop draw per (batch, channel), broadcast over every other dim.
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    scale = F.dropout(ember.ones(mask_shape, dtype=input.dtype), p, train)
    return input.mul_(scale) if inplace else input * scale


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """Reduce the slices of ``source`` into ``input`` at ``index`` along ``dim``.

    ``reduce`` is ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``; slice ``i`` of
    ``source`` goes to slice ``index[i]``. It is ``scatter_reduce`` with ``index``
    broadcast over the other dims, so gradients follow scatter_reduce's.
    """
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax "
                           f"or amin but got {reduce}.")
    if index.dim() > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    dim = dim % max(source.dim(), 1)
    if source.dim() and index.numel() != source.shape[dim]:
        raise RuntimeError(
            "index_reduce_(): Number of indices "
            f"({index.numel()}) should be equal to source.size(dim) ({source.shape[dim]})"
        )
    shape = [1] * source.dim()
    if shape:
        shape[dim] = index.numel()
    spread = index.reshape(shape).expand(source.shape) if shape else index.reshape(())
    return ember.scatter_reduce(input, dim, spread, source, reduce, include_self=include_self)
