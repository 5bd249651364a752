"""Helpers the distributions share: parameter broadcasting, probabilities and logits, and
``lazy_property`` for parameters computed from another one on first use."""

from __future__ import annotations

from functools import update_wrapper
from numbers import Number

from ember import ops
from ember._dtype import finfo, get_default_dtype, int64
from ember._tensor import Size, Tensor
from ember.autograd import enable_grad, no_grad
from ember.ops.softmax import softmax

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "euler_constant",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

euler_constant = 0.57721566490153286060  # Euler–Mascheroni γ


def broadcast_all(*values) -> tuple:
    """The arguments as tensors of one broadcast shape.

    Numbers become tensors of the first tensor argument's dtype and device (of the default
    dtype when there is none); tensors keep their dtypes.

    Example::

        >>> loc, scale = broadcast_all(ember.zeros(3), 1.0)
        >>> scale
        tensor([1., 1., 1.])
    """
    if not all(isinstance(value, (Tensor, Number)) for value in values):
        raise ValueError(
            "Input arguments must all be instances of Number, torch.Tensor or objects "
            "implementing __torch_function__."
        )
    if not all(isinstance(value, Tensor) for value in values):
        first = next((value for value in values if isinstance(value, Tensor)), None)
        options = ({"dtype": get_default_dtype()} if first is None
                   else {"dtype": first.dtype, "device": first.device})
        values = [value if isinstance(value, Tensor) else ops.tensor(value, **options)
                  for value in values]
    return ops.broadcast_tensors(*values)


def _standard_normal(shape, dtype, device) -> Tensor:
    """N(0, 1) draws of ``shape`` from ember's generator, outside any graph."""
    with no_grad():
        return ops.randn(tuple(shape), dtype=dtype, device=device)


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """``value`` summed over its ``dim`` rightmost dims."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from logits: sigmoid(logits) for a binary variable (``is_binary``),
    else softmax over the last dim."""
    if is_binary:
        return ops.sigmoid(logits)
    return softmax(logits, dim=-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """``probs`` clamped to [eps, 1 - eps], eps the dtype's machine epsilon, so that their
    logarithms and those of their complements stay finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Logits from probabilities: log p - log(1 - p) for a binary variable (``is_binary``),
    else log p (the log-probabilities, which softmax maps back to ``probs``). The
    probabilities are clamped first (``clamp_probs``)."""
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


class lazy_property:
    """A property computed on first read and then stored on the instance, replacing itself.

    Distributions given ``probs`` compute ``logits`` only when asked, and the other way
    round. The value is computed with gradients enabled, so it stays attached to the
    parameter it came from even when first read under ``no_grad``.
    """

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, owner=None):
        if instance is None:
            return _LazyPropertyAndProperty(self.wrapped)
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _LazyPropertyAndProperty(lazy_property, property):
    """What a ``lazy_property`` is when read on the class: also a ``property``, so tools
    that list a class's properties (documentation, ``inspect``) find it."""

    def __init__(self, wrapped):
        lazy_property.__init__(self, wrapped)
        property.__init__(self, wrapped)


def _tril_mask(n: int, diag: int) -> list:
    """The flat positions (row-major) of an n × n matrix's entries on or below diagonal
    ``diag`` (0 the main one, -1 the one below it)."""
    return [row * n + column for row in range(n) for column in range(n)
            if column <= row + diag]


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of the last two dims of ``mat`` on or below diagonal ``diag``, row by
    row, as a vector (the inverse of ``vec_to_tril_matrix``)."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    positions = ops.tensor(_tril_mask(n, diag), dtype=int64, device=mat.device)
    flat = mat.reshape(tuple(mat.shape[:-2]) + (n * n,))
    return flat.index_select(-1, positions)


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The square matrix whose entries on or below diagonal ``diag`` are ``vec``'s, row by
    row, with zeros elsewhere: its size n is the one whose count of such entries is
    ``vec.shape[-1]``, else ValueError."""
    length = vec.shape[-1]
    # that count is (n (n + 1 + 2 diag) - |diag| (diag + 1)) / 2: solve for n
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * length + 4 * abs(diag) * (diag + 1))
         ** 0.5) / 2
    if abs(round(n) - n) > finfo(vec.dtype).eps:
        raise ValueError(
            f"The size of last dimension is {length} which cannot be expressed as the "
            "lower triangular part of a square D x D matrix."
        )
    n = round(n)
    # each entry of the matrix gathers from [0, vec...]: 0 above the diagonal
    sources = [0] * (n * n)
    for index, position in enumerate(_tril_mask(n, diag)):
        sources[position] = index + 1
    padded = ops.cat([ops.zeros_like(vec[..., :1]), vec], -1)
    sources = ops.tensor(sources, dtype=int64, device=vec.device)
    return padded.index_select(-1, sources).reshape(tuple(vec.shape[:-1]) + (n, n))


def _as_size(shape) -> Size:
    return shape if isinstance(shape, Size) else Size(shape)


def _exactly_one_of(probs, logits) -> None:
    """The ValueError PyTorch raises unless exactly one of ``probs`` and ``logits`` is
    given."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
