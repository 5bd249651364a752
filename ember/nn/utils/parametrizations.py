"""``nn.utils.parametrizations``: ready-made parametrizations for ``register_parametrization``.

``weight_norm`` (``w = g · v / ‖v‖``), ``spectral_norm`` (``w / σ(w)`` by power iteration) and
``orthogonal`` (``w`` kept orthogonal through the matrix exponential, the Cayley map or a
product of Householder reflections of a free matrix). Each is a small private ``Module``
with ``forward`` (the originals to the tensor) and ``right_inverse`` (the tensor to the
originals), registered on the module's tensor by ``parametrize.register_parametrization``.
"""

from __future__ import annotations

from enum import Enum, auto

from ember._backend import xp
from ember._dtype import finfo
from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.linalg import householder_product, qr, solve
from ember.nn._functional.distance import normalize
from ember.nn.modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ember.nn.modules.module import Module
from ember.nn.utils import parametrize
from ember.nn.utils.weight_norm import _norm_except_dim, _weight_norm
from ember.ops.comparison import allclose
from ember.ops.creation import eye, zeros_like
from ember.ops.householder import geqrf
from ember.ops.linalg import matrix_exp
from ember.ops.matmul import mv, vdot
from ember.ops.random import randn
from ember.ops.shape import cat

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# ---------------------------------------------------------------- orthogonal
class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


def _is_orthogonal(Q: Tensor) -> bool:
    n, k = Q.size(-2), Q.size(-1)
    identity = eye(k, dtype=Q.dtype, device=Q.device)
    # Loose enough for a product of n rounded terms, tight enough to mean it.
    eps = 10.0 * n * finfo(Q.dtype).eps
    return allclose(Q.mT @ Q, identity, atol=eps)


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of ``A = QR`` (``A`` tall) with the signs that make ``diag(R)`` non-negative:
    the orthogonal matrix nearest in the QR sense, unique for a full-rank ``A``."""
    Q, R = qr(A)
    return Q * R.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _Orthogonal(Module):
    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *,
                 use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        # X is tall: n >= k.
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            # Only the n·k - k(k-1)/2 entries on and below the diagonal are free.
            X = X.tril()
            if n != k:
                X = cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mT  # skew-symmetric, so its exponential or Cayley map is orthogonal
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = matrix_exp(A)
            else:
                # The Cayley map (I + A/2)(I - A/2)^-1, as a solve.
                identity = eye(n, dtype=A.dtype, device=A.device)
                Q = solve(identity - 0.5 * A, identity + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = householder_product(A, tau)
            # X's diagonal holds the signs (±1) of Q's columns; they are not trained.
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q: Tensor) -> Tensor:
        if Q.shape != self.shape:
            raise ValueError(
                f"Expected a matrix or batch of matrices of shape {self.shape}. "
                f"Got a tensor of shape {Q.shape}."
            )
        Q_init = Q
        n, k = Q.size(-2), Q.size(-1)
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if not hasattr(self, "base"):
            # Without a base only the Householder map can be inverted: its X is the QR
            # factorization's packed form. Which X the other maps send to Q is not known.
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential or the Cayley "
                    "parametrizations when use_trivialization=False."
                )
            A, tau = geqrf(Q)
            # diag(A) becomes the signs of diag(R), flipped where LAPACK skipped a reflection
            # (tau = 0), so that forward gives Q back rather than a column-flipped Q.
            diagonal = xp.sign(xp.diagonal(A._data, axis1=-2, axis2=-1))
            diagonal = xp.where(tau._data == 0.0, -diagonal, diagonal)
            rows = xp.arange(k)
            A._data[..., rows, rows] = diagonal
            return A.mT if transpose else A
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:
            # Complete Q to a square orthogonal matrix with random columns.
            extra = randn(*(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(cat([Q, extra], dim=-1))
        self.base = Q
        # forward(-I) is the identity for every map, Householder's included, so the
        # parametrized tensor starts equal to base (its first k columns).
        rows, columns = Q_init.size(-2), Q_init.size(-1)
        return zeros_like(Q_init) - eye(rows, columns, dtype=Q.dtype, device=Q.device)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Keep ``module.<name>`` an orthogonal matrix (or batch of them) by parametrizing it.

    The weight is ``Q = B · φ(X)`` for a free matrix ``X`` (``original``): ``φ`` is
    ``"matrix_exp"`` (``exp(A)``), ``"cayley"`` (``(I + A/2)(I - A/2)⁻¹``), both on the
    skew-symmetric ``A = tril(X) - tril(X)ᵀ``, or ``"householder"`` (a product of reflections
    read from ``X`` below the diagonal); for a wide weight the transpose is parametrized.
    With ``use_trivialization=True``, ``B`` is the buffer ``base``, set to the orthogonalized
    weight on registration and on each assignment to ``module.<name>`` (and ``X`` to ``-I``).
    Without it there is no base and only ``"householder"`` can be assigned.

    Args:
        module (Module): the module holding the weight.
        name (str): the tensor to parametrize (2 or more dims). Default: ``"weight"``.
        orthogonal_map (str, optional): ``"matrix_exp"``, ``"cayley"`` or ``"householder"``.
            Default: ``"matrix_exp"`` for a square weight, ``"householder"`` otherwise.
        use_trivialization (bool): keep a ``base`` matrix. Default: ``True``.

    Returns:
        Module: ``module``, parametrized.

    Raises:
        ValueError: ``module`` has no tensor ``name``, it has fewer than 2 dims, or
            ``orthogonal_map`` is unknown.

    Example::

        >>> layer = orthogonal(nn.Linear(20, 40))
        >>> Q = layer.weight
        >>> ember.dist(Q.T @ Q, ember.eye(20)) < 1e-5
        tensor(True)
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    # On vectors this would be a map onto the sphere, more surprising than useful.
    if weight.ndim < 2:
        raise ValueError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions."
        )
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.size(-2) == weight.size(-1) else "householder"
    map_enum = getattr(_OrthMaps, orthogonal_map, None)
    if map_enum is None:
        raise ValueError(
            'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
            f"Got: {orthogonal_map}"
        )
    parametrization = _Orthogonal(weight, map_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, parametrization, unsafe=True)
    return module


# ---------------------------------------------------------------- weight norm
class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Parametrize ``module.<name>`` as ``g · v / ‖v‖``, with ``g`` and ``v`` trained.

    ``w = g · v / ‖v‖``, the norm over every dim but ``dim`` (one norm for the whole tensor
    when ``dim`` is ``None``). The originals are ``parametrizations.<name>.original0`` = ``g``
    (size 1 in every dim but ``dim``) and ``original1`` = ``v`` (``w``'s shape), set from the
    weight so that it is unchanged. A state dict of the legacy ``nn.utils.weight_norm``
    (``<name>_g``, ``<name>_v``) loads into it: a load pre-hook renames those keys.

    Args:
        module (Module): the module holding the weight.
        name (str): the tensor to parametrize. Default: ``"weight"``.
        dim (int, optional): the dim whose slices get a norm each. Default: ``0``.

    Returns:
        Module: ``module``, parametrized.

    Example::

        >>> m = weight_norm(nn.Linear(20, 40), name="weight")
        >>> m.parametrizations.weight.original0.size()
        ember.Size([40, 1])
        >>> m.parametrizations.weight.original1.size()
        ember.Size([40, 20])
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    module._register_load_state_dict_pre_hook(_LegacyWeightNormKeys(name))
    return module


class _LegacyWeightNormKeys:
    """A load pre-hook: a checkpoint of the legacy ``nn.utils.weight_norm`` holds
    ``<name>_g`` and ``<name>_v``, which become ``parametrizations.<name>.original0`` and
    ``original1``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs) -> None:
        g_key, v_key = f"{prefix}{self.name}_g", f"{prefix}{self.name}_v"
        if g_key in state_dict and v_key in state_dict:
            new_prefix = f"{prefix}parametrizations.{self.name}."
            state_dict[new_prefix + "original0"] = state_dict.pop(g_key)
            state_dict[new_prefix + "original1"] = state_dict.pop(v_key)


# ---------------------------------------------------------------- spectral norm
class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = self._reshape_weight_to_matrix(weight)
            height, width = matrix.size()
            u = matrix.new_empty(height).normal_(0, 1)
            v = matrix.new_empty(width).normal_(0, 1)
            self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            # Start near the leading singular vectors rather than at random ones.
            self._power_method(matrix, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            others = (d for d in range(weight.dim()) if d != self.dim)
            weight = weight.permute(self.dim, *others)
        return weight.flatten(1)

    def _power_method(self, matrix: Tensor, n_power_iterations: int) -> None:
        with no_grad():
            for _ in range(n_power_iterations):
                # In place: the buffers carry the estimate from one call to the next.
                normalize(mv(matrix, self._v), dim=0, eps=self.eps, out=self._u)
                normalize(mv(matrix.mT, self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        matrix = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        # Copies, so that the next call's in-place update leaves this graph alone.
        u = self._u.clone()
        v = self._v.clone()
        sigma = vdot(u, mv(matrix, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        # Any weight is its own preimage: w and w / σ(w) differ by a scale that σ undoes.
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Parametrize ``module.<name>`` as itself divided by its spectral norm.

    ``w = W / σ``, ``σ = uᵀ W v``, with ``W`` the weight as a matrix (``dim`` first, the rest
    flattened) and ``u``, ``v`` its leading singular vectors estimated by power iteration
    (the buffers ``parametrizations.<name>.0._u`` and ``_v``; 15 steps on registration from a
    random start, then ``n_power_iterations`` steps at each access in training mode,
    ``u ← normalize(W v)``, ``v ← normalize(Wᵀ u)``; none in eval mode). A 1-d weight is
    divided by its 2-norm instead.

    Args:
        module (Module): the module holding the weight.
        name (str): the tensor to parametrize. Default: ``"weight"``.
        n_power_iterations (int): power iterations per access in training. Default: ``1``.
        eps (float): the floor of the norms in ``normalize``. Default: ``1e-12``.
        dim (int, optional): the dim of output channels: ``1`` for ``ConvTranspose*``,
            otherwise ``0`` when ``None``.

    Returns:
        Module: ``module``, parametrized.

    Raises:
        ValueError: no tensor ``name``, or ``n_power_iterations`` is not positive.
        IndexError: ``dim`` is out of range.

    Example::

        >>> snm = spectral_norm(nn.Linear(20, 40))
        >>> ember.linalg.matrix_norm(snm.weight, 2)
        tensor(1.0000, grad_fn=<...>)
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)):
            dim = 1
        else:
            dim = 0
    parametrization = _SpectralNorm(weight, n_power_iterations, dim, eps)
    parametrize.register_parametrization(module, name, parametrization)
    return module
