"""Transforms: invertible (or not) maps y = f(x) with log|det ∂y/∂x|, to build
distributions from others (``TransformedDistribution``).

A transform knows its ``domain`` and ``codomain`` (constraints), whether it is
``bijective``, the ``sign`` of its derivative when monotone, its inverse (``inv``, a
transform too) and ``log_abs_det_jacobian(x, y)``. ``cache_size=1`` keeps the last
(x, y) pair, so that the inverse of a value the transform itself produced is exact
(``TanhTransform`` at ±1) and free.

Example::

    >>> squash = TanhTransform(cache_size=1)
    >>> y = squash(x)
    >>> squash.inv(y) is x
    True
"""

from __future__ import annotations

import math
import weakref
from numbers import Number, Real

from ember import ops
from ember._dtype import finfo
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions.utils import (
    _sum_rightmost,
    broadcast_all,
    tril_matrix_to_vec,
    vec_to_tril_matrix,
)
from ember.linalg import cholesky
from ember.nn.functional import logsigmoid, pad, softplus

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "CatTransform",
    "ComposeTransform",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "ExpTransform",
    "IndependentTransform",
    "LowerCholeskyTransform",
    "PositiveDefiniteTransform",
    "PowerTransform",
    "ReshapeTransform",
    "SigmoidTransform",
    "SoftmaxTransform",
    "SoftplusTransform",
    "StackTransform",
    "StickBreakingTransform",
    "TanhTransform",
    "Transform",
    "identity_transform",
]


class Transform:
    """The base class of transforms: ``y = t(x)``, ``x = t.inv(y)``.

    Subclasses set ``domain``, ``codomain`` and ``bijective``, and implement ``_call``,
    ``_inverse`` and ``log_abs_det_jacobian`` (and ``sign`` where monotone).

    Args:
        cache_size: 0 (no cache) or 1 (keep the latest (x, y) pair).
    """

    bijective = False
    domain: constraints.Constraint
    codomain: constraints.Constraint

    def __init__(self, cache_size: int = 0):
        self._cache_size = cache_size
        self._inv = None
        if cache_size == 0:
            pass
        elif cache_size == 1:
            self._cached_x_y = None, None
        else:
            raise ValueError("cache_size must be 0 or 1")
        super().__init__()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_inv"] = None  # a weak reference does not pickle
        return state

    @property
    def event_dim(self) -> int:
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self) -> Transform:
        """The inverse transform, with ``inv.inv is self``."""
        inverse = None
        if self._inv is not None:
            inverse = self._inv()
        if inverse is None:
            inverse = _InverseTransform(self)
            self._inv = weakref.ref(inverse)
        return inverse

    @property
    def sign(self):
        """+1 or -1: the sign of the derivative of a monotone transform."""
        raise NotImplementedError

    def with_cache(self, cache_size: int = 1) -> Transform:
        """This transform with the given cache size."""
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self)}.with_cache is not implemented")

    def __eq__(self, other) -> bool:
        return self is other

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __call__(self, x: Tensor) -> Tensor:
        if self._cache_size == 0:
            return self._call(x)
        x_old, y_old = self._cached_x_y
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached_x_y = x, y
        return y

    def _inv_call(self, y: Tensor) -> Tensor:
        if self._cache_size == 0:
            return self._inverse(y)
        x_old, y_old = self._cached_x_y
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached_x_y = x, y
        return x

    def _call(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        """log|det ∂y/∂x| at the pair (x, y = t(x)), one per event."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__ + "()"

    def forward_shape(self, shape):
        """The shape of ``t(x)`` for an ``x`` of ``shape``."""
        return shape

    def inverse_shape(self, shape):
        """The shape of ``t.inv(y)`` for a ``y`` of ``shape``."""
        return shape


class _InverseTransform(Transform):
    """The inverse of a transform, made by ``Transform.inv``."""

    def __init__(self, transform: Transform):
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self) -> bool:
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self) -> Transform:
        return self._inv

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self.inv.with_cache(cache_size).inv

    def __eq__(self, other) -> bool:
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._inv!r})"

    def __call__(self, x: Tensor) -> Tensor:
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)


class ComposeTransform(Transform):
    """The transforms of ``parts`` applied in order: ``parts[-1](…parts[0](x))``.

    Its event dim is the largest any part needs, so the log-determinants of parts with
    fewer event dims are summed over the rest.
    """

    def __init__(self, parts: list, cache_size: int = 0):
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size=cache_size)
        self.parts = parts

    def __eq__(self, other) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        # walk back from the output, keeping the event dims each part needs
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim += part.domain.event_dim - part.codomain.event_dim
            event_dim = max(event_dim, part.domain.event_dim)
        if event_dim > domain.event_dim:
            domain = constraints.independent(domain, event_dim - domain.event_dim)
        return domain

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim += part.codomain.event_dim - part.domain.event_dim
            event_dim = max(event_dim, part.codomain.event_dim)
        if event_dim > codomain.event_dim:
            codomain = constraints.independent(codomain, event_dim - codomain.event_dim)
        return codomain

    @property
    def bijective(self) -> bool:
        return all(part.bijective for part in self.parts)

    @property
    def sign(self):
        sign = 1
        for part in self.parts:
            sign = sign * part.sign
        return sign

    @property
    def inv(self) -> Transform:
        inverse = None
        if self._inv is not None:
            inverse = self._inv()
        if inverse is None:
            inverse = ComposeTransform([part.inv for part in reversed(self.parts)])
            self._inv = weakref.ref(inverse)
            inverse._inv = weakref.ref(self)
        return inverse

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x: Tensor) -> Tensor:
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return ops.zeros_like(x)
        values = [x]
        for part in self.parts[:-1]:
            values.append(part(values[-1]))
        values.append(y)
        total = None
        event_dim = self.domain.event_dim
        for part, before, after in zip(self.parts, values[:-1], values[1:]):
            term = _sum_rightmost(part.log_abs_det_jacobian(before, after),
                                  event_dim - part.domain.event_dim)
            total = term if total is None else total + term
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(part) for part in self.parts)
        return f"{type(self).__name__}(\n    {inner}\n)"


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """``base_transform`` with its ``reinterpreted_batch_ndims`` rightmost dims taken as one
    event: the log-determinant is summed over them."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int,
                 cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims,
                                    cache_size=cache_size)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.independent(self.base_transform.domain,
                                       self.reinterpreted_batch_ndims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.independent(self.base_transform.codomain,
                                       self.reinterpreted_batch_ndims)

    @property
    def bijective(self) -> bool:
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        if x.dim() < self.domain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform(x)

    def _inverse(self, y):
        if y.dim() < self.codomain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        result = self.base_transform.log_abs_det_jacobian(x, y)
        return _sum_rightmost(result, self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_transform!r}, {self.reinterpreted_batch_ndims})"

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)


class _Parameterless(Transform):
    """A transform without parameters: equal to every other of its kind (``ExpTransform``,
    a subclass of it included)."""

    def __eq__(self, other) -> bool:
        kind = next(c for c in type(self).__mro__ if _Parameterless in c.__bases__)
        return isinstance(other, kind)

    __hash__ = object.__hash__


class ExpTransform(_Parameterless):
    """y = exp(x); log|dy/dx| = x."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """y = x^exponent on (0, ∞); log|dy/dx| = log|exponent · y / x|."""

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        (self.exponent,) = broadcast_all(exponent)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return PowerTransform(self.exponent, cache_size=cache_size)

    @property
    def sign(self):
        return self.exponent.sign()

    def __eq__(self, other) -> bool:
        if not isinstance(other, PowerTransform):
            return False
        return bool(self.exponent.eq(other.exponent).all())

    __hash__ = object.__hash__

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):
        return ops.broadcast_shapes(shape, tuple(self.exponent.shape))

    def inverse_shape(self, shape):
        return ops.broadcast_shapes(shape, tuple(self.exponent.shape))


def _clipped_sigmoid(x: Tensor) -> Tensor:
    """sigmoid(x) kept inside (0, 1) in floating point, so that its inverse stays finite."""
    info = finfo(x.dtype)
    return ops.sigmoid(x).clamp(min=info.tiny, max=1.0 - info.eps)


class SigmoidTransform(_Parameterless):
    """y = 1 / (1 + exp(-x)); log|dy/dx| = -softplus(-x) - softplus(x)."""

    domain = constraints.real
    codomain = constraints.unit_interval
    bijective = True
    sign = +1

    def _call(self, x):
        return _clipped_sigmoid(x)

    def _inverse(self, y):
        info = finfo(y.dtype)
        y = y.clamp(min=info.tiny, max=1.0 - info.eps)
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -softplus(-x) - softplus(x)


class SoftplusTransform(_Parameterless):
    """y = log(1 + exp(x)); log|dy/dx| = -softplus(-x)."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def _call(self, x):
        return softplus(x)

    def _inverse(self, y):
        # x = log(exp(y) - 1) = y + log(1 - exp(-y)), which does not overflow for large y
        return (-y).expm1().neg().log() + y

    def log_abs_det_jacobian(self, x, y):
        return -softplus(-x)


class TanhTransform(_Parameterless):
    """y = tanh(x) onto (-1, 1); log|dy/dx| = 2 (log 2 - x - softplus(-2x)).

    That is log(1 - tanh²x) written so it stays finite for large |x|. The inverse is
    ``atanh``, unclamped: at ±1 it is infinite, so keep the sample with ``cache_size=1``
    to get back the exact x it came from.
    """

    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = +1

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return ops.atanh(y)

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - softplus(-2.0 * x))


class AbsTransform(_Parameterless):
    """y = |x|; not bijective: its "inverse" returns y (the nonnegative preimage)."""

    domain = constraints.real
    codomain = constraints.positive

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class AffineTransform(Transform):
    """y = loc + scale · x; log|dy/dx| = log|scale|, summed over ``event_dim`` dims.

    Args:
        loc: a number or a tensor.
        scale: a number or a tensor.
        event_dim: how many rightmost dims of x form one event (0 for scalars, 1 for
            vectors …).
        cache_size: see ``Transform``.
    """

    bijective = True

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.loc = loc
        self.scale = scale
        self._event_dim = event_dim

    @property
    def event_dim(self) -> int:
        return self._event_dim

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        if self.event_dim == 0:
            return constraints.real
        return constraints.independent(constraints.real, self.event_dim)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        if self.event_dim == 0:
            return constraints.real
        return constraints.independent(constraints.real, self.event_dim)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self.event_dim, cache_size=cache_size)

    def __eq__(self, other) -> bool:
        if not isinstance(other, AffineTransform):
            return False
        return _same(self.loc, other.loc) and _same(self.scale, other.scale)

    __hash__ = object.__hash__

    @property
    def sign(self):
        if isinstance(self.scale, Real):
            scale = float(self.scale)
            return 1 if scale > 0 else -1 if scale < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        shape = tuple(x.shape)
        if isinstance(self.scale, Real):
            result = ops.full_like(x, math.log(abs(self.scale)))
        else:
            result = self.scale.abs().log()
        if self.event_dim:
            result = result.reshape(tuple(result.shape[: -self.event_dim]) + (-1,)).sum(-1)
            shape = shape[: -self.event_dim]
        return result.expand(shape)

    def forward_shape(self, shape):
        return ops.broadcast_shapes(shape, tuple(getattr(self.loc, "shape", ())),
                                    tuple(getattr(self.scale, "shape", ())))

    def inverse_shape(self, shape):
        return ops.broadcast_shapes(shape, tuple(getattr(self.loc, "shape", ())),
                                    tuple(getattr(self.scale, "shape", ())))


def _same(a, b) -> bool:
    """Whether two transform parameters (numbers or tensors) are equal everywhere."""
    if isinstance(a, Number) and isinstance(b, Number):
        return a == b
    return bool((a == b).all())


# ---------------------------------------------------------------- vectors and matrices


def _too_few_dims(shape, needed: int = 1) -> None:
    if len(shape) < needed:
        raise ValueError("Too few dimensions on input")


class StickBreakingTransform(_Parameterless):
    """Unconstrained vectors of length K - 1 onto the K-simplex, by breaking a stick.

    Entry i takes the fraction z_i = sigmoid(x_i - log(K - 1 - i)) of what is left of the
    stick: y_i = z_i Π_{j<i} (1 - z_j), and y_K the rest. The shift makes x = 0 the
    simplex's centre. Bijective;
    log|det| = Σ_i (-x̃_i + logsigmoid(x̃_i) + log y_i), x̃_i = x_i - log(K - 1 - i).
    """

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    @staticmethod
    def _offset_log(x: Tensor) -> Tensor:
        """log(K - 1 - i) for i = 0 … K - 2, K - 1 = x.shape[-1]."""
        remaining = ops.arange(x.shape[-1], 0, -1, dtype=x.dtype, device=x.device)
        return remaining.log()

    def _call(self, x):
        fractions = ops.sigmoid(x - self._offset_log(x))
        left = ops.cumprod(1 - fractions, -1)
        return pad(fractions, [0, 1], value=1) * pad(left, [1, 0], value=1)

    def _inverse(self, y):
        head = y[..., :-1]
        remaining = ops.arange(y.shape[-1] - 1, 0, -1, dtype=y.dtype, device=y.device)
        left = (1 - ops.cumsum(head, -1)).clamp(min=finfo(y.dtype).tiny)
        return head.log() - left.log() + remaining.log()

    def log_abs_det_jacobian(self, x, y):
        shifted = x - self._offset_log(x)
        return (-shifted + logsigmoid(shifted) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        _too_few_dims(shape)
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        _too_few_dims(shape)
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class SoftmaxTransform(_Parameterless):
    """Unconstrained vectors onto the simplex: y = exp(x) / Σ exp(x). Not bijective (adding
    a constant to x changes nothing); its "inverse" is log y."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        probabilities = (x - x.max(-1, True)[0]).exp()
        return probabilities / probabilities.sum(-1, True)

    def _inverse(self, y):
        return y.log()

    def forward_shape(self, shape):
        _too_few_dims(shape)
        return shape

    def inverse_shape(self, shape):
        _too_few_dims(shape)
        return shape


class LowerCholeskyTransform(_Parameterless):
    """Unconstrained square matrices onto lower-triangular ones with a positive diagonal:
    the strictly lower part kept, the diagonal exponentiated, the upper part dropped."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x):
        return x.tril(-1) + ops.diag_embed(x.diagonal(dim1=-2, dim2=-1).exp())

    def _inverse(self, y):
        return y.tril(-1) + ops.diag_embed(y.diagonal(dim1=-2, dim2=-1).log())


class PositiveDefiniteTransform(_Parameterless):
    """Unconstrained square matrices onto positive-definite ones: L Lᵀ, with L the
    ``LowerCholeskyTransform`` of x. Its inverse goes through the Cholesky factor."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x):
        factor = LowerCholeskyTransform()(x)
        return ops.matmul(factor, factor.mT)

    def _inverse(self, y):
        return LowerCholeskyTransform().inv(cholesky(y))


class CorrCholeskyTransform(_Parameterless):
    r"""Unconstrained vectors of length D (D - 1) / 2 onto the Cholesky factors of D × D
    correlation matrices (lower triangular, positive diagonal, rows of unit norm).

    The vector fills the strictly lower triangle row by row, squashed by tanh into (-1, 1);
    each row is then a stick broken by those partial correlations: entry j of row i is
    r_ij √(1 - Σ_{k<j} y_ik²), and the diagonal entry what is left. Bijective.
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x):
        eps = finfo(x.dtype).eps
        partial = x.tanh().clamp(min=-1 + eps, max=1 - eps)
        lower = vec_to_tril_matrix(partial, diag=-1)
        # the length left of each row's stick before entry j: Π_{k<j} √(1 - r_ik²)
        left = ops.cumprod((1 - lower.pow(2)).sqrt(), -1)
        identity = ops.eye(lower.shape[-1], dtype=x.dtype, device=x.device)
        return (lower + identity) * pad(left[..., :-1], [1, 0], value=1)

    def _inverse(self, y):
        left = 1 - ops.cumsum(y * y, -1)
        left_before = pad(left[..., :-1], [1, 0], value=1)
        partial = (tril_matrix_to_vec(y, diag=-1)
                   / tril_matrix_to_vec(left_before, diag=-1).sqrt())
        return 0.5 * (ops.log1p(partial) - ops.log1p(-partial))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        """½ Σ log(1 - Σ_{k≤j} y_ik²) over the entries below the diagonal but one (the
        stick), plus Σ log(1 - tanh² x) (the squashing)."""
        left = 1 - ops.cumsum(y * y, -1)
        stick = 0.5 * tril_matrix_to_vec(left, diag=-2).log().sum(-1)
        squash = -2 * (x + softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick + squash

    def forward_shape(self, shape):
        _too_few_dims(shape)
        length = shape[-1]
        size = round((0.25 + 2 * length) ** 0.5 + 0.5)
        if size * (size - 1) // 2 != length:
            raise ValueError("Input is not a flattend lower-diagonal number")
        return tuple(shape[:-1]) + (size, size)

    def inverse_shape(self, shape):
        _too_few_dims(shape, 2)
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        size = shape[-1]
        return tuple(shape[:-2]) + (size * (size - 1) // 2,)


class ReshapeTransform(Transform):
    """Events of shape ``in_shape`` reshaped to ``out_shape`` (as many entries); the batch
    dims to their left are kept. Bijective, with log|det| = 0.

    Args:
        in_shape: the event shape of the input.
        out_shape: the event shape of the output.
        cache_size: see ``Transform``.
    """

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size: int = 0):
        self.in_shape = Size(in_shape)
        self.out_shape = Size(out_shape)
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @constraints.dependent_property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        batch_shape = tuple(x.shape[: x.dim() - len(self.in_shape)])
        return x.reshape(batch_shape + tuple(self.out_shape))

    def _inverse(self, y):
        batch_shape = tuple(y.shape[: y.dim() - len(self.out_shape)])
        return y.reshape(batch_shape + tuple(self.in_shape))

    def log_abs_det_jacobian(self, x, y):
        batch_shape = tuple(x.shape[: x.dim() - len(self.in_shape)])
        return ops.zeros(batch_shape, dtype=x.dtype, device=x.device)

    def _swap_events(self, shape, have: Size, give: Size):
        if len(shape) < len(have):
            raise ValueError("Too few dimensions on input")
        cut = len(shape) - len(have)
        if tuple(shape[cut:]) != tuple(have):
            raise ValueError(f"Shape mismatch: expected {Size(shape[cut:])} but got {have}")
        return tuple(shape[:cut]) + tuple(give)

    def forward_shape(self, shape):
        return self._swap_events(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._swap_events(shape, self.out_shape, self.in_shape)


class CatTransform(Transform):
    """Each transform of ``tseq`` on its slice along ``dim``, of ``lengths[i]`` entries (1
    each by default), the results concatenated: the transform counterpart of ``cat``.

    Example::

        >>> t = CatTransform([ExpTransform(), identity_transform], dim=0, lengths=[2, 3])
        >>> y = t(ember.zeros(5))  # the first two entries exponentiated
    """

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0):
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("CatTransform expects a sequence of Transforms")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise AssertionError("CatTransform expects one length per transform")
        self.dim = dim

    @property
    def event_dim(self) -> int:
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self) -> int:
        return sum(self.lengths)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _slices(self, value: Tensor):
        """(transform, slice of ``value``) pairs along ``dim``."""
        # PyTorch asserts these, so a mismatch is its AssertionError
        if not -value.dim() <= self.dim < value.dim():
            raise AssertionError(f"dim {self.dim} is out of range for {value.dim()} dims")
        if value.size(self.dim) != self.length:
            raise AssertionError(f"size({self.dim}) = {value.size(self.dim)} must equal "
                                 f"length {self.length}")
        start = 0
        for transform, length in zip(self.transforms, self.lengths):
            yield transform, value.narrow(self.dim, start, length)
            start += length

    def _call(self, x):
        return ops.cat([transform(part) for transform, part in self._slices(x)], self.dim)

    def _inverse(self, y):
        return ops.cat([transform.inv(part) for transform, part in self._slices(y)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        """Each part's log|det|, summed over the event dims it lacks; concatenated along
        ``dim`` where that dim is a batch dim of the result, else added up."""
        terms = []
        for (transform, x_part), (_, y_part) in zip(self._slices(x), self._slices(y)):
            term = transform.log_abs_det_jacobian(x_part, y_part)
            if transform.event_dim < self.event_dim:
                term = _sum_rightmost(term, self.event_dim - transform.event_dim)
            terms.append(term)
        dim = self.dim - x.dim() if self.dim >= 0 else self.dim
        dim += self.event_dim
        if dim < 0:
            return ops.cat(terms, dim)
        return sum(terms)

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """Transform i of ``tseq`` on index i along ``dim``, the results stacked: the transform
    counterpart of ``stack``."""

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0):
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("StackTransform expects a sequence of Transforms")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, value: Tensor) -> list:
        if not -value.dim() <= self.dim < value.dim():
            raise AssertionError(f"dim {self.dim} is out of range for {value.dim()} dims")
        if value.size(self.dim) != len(self.transforms):
            raise AssertionError(f"size({self.dim}) = {value.size(self.dim)} must equal "
                                 f"len(transforms) {len(self.transforms)}")
        return [value.select(self.dim, index) for index in range(value.size(self.dim))]

    def _call(self, x):
        parts = zip(self._slices(x), self.transforms)
        return ops.stack([transform(part) for part, transform in parts], self.dim)

    def _inverse(self, y):
        parts = zip(self._slices(y), self.transforms)
        return ops.stack([transform.inv(part) for part, transform in parts], self.dim)

    def log_abs_det_jacobian(self, x, y):
        terms = [transform.log_abs_det_jacobian(x_part, y_part)
                 for x_part, y_part, transform
                 in zip(self._slices(x), self._slices(y), self.transforms)]
        return ops.stack(terms, self.dim)

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @constraints.dependent_property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)


class CumulativeDistributionTransform(Transform):
    """A distribution's cumulative distribution function, from its support onto [0, 1]:
    y = F(x), x = F⁻¹(y) (``icdf``), log|dy/dx| = log p(x). Increasing and bijective.

    Args:
        distribution: a distribution with ``cdf``, ``icdf`` and ``log_prob``.
        cache_size: see ``Transform``.
    """

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return type(self)(self.distribution, cache_size=cache_size)
