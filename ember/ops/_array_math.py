"""The array namespace that gradient formulas run on in a plain ``backward()``.

An op writes its derivative once, as ``gradients(xp, ctx, *grads)``, over a namespace of
array functions with NumPy's names and signatures. Run with ``ArrayMath`` (the backend's
own arrays) it is the backward that builds no graph; run with ``TensorMath``
(``_tensor_math.py``: ember's differentiable ops under the same names) it is recorded,
for ``create_graph=True``. The two classes list the same names (a test keeps them equal),
so a formula that runs on one runs on the other.
"""

from __future__ import annotations

from math import prod
from operator import attrgetter

from ember._backend import asarray, xp
from ember.ops import _index_key
from ember.ops._special import _erf_array, _erfinv_array, _i1_array, _polygamma_array

_BLAS_FLOATS = (xp.dtype(xp.float32), xp.dtype(xp.float64))
ROWS_BY_BLAS = 512  # entries: from here ``sum_rows`` sums by BLAS's product by ones


class ArrayMath:
    """NumPy's functions, as gradient formulas use them (the same names as ``TensorMath``)."""

    # What the forward saved, as arrays (with the in-place version check): ``saved(ctx)``.
    saved = attrgetter("saved_arrays")

    # elementwise
    where = staticmethod(xp.where)
    exp = staticmethod(xp.exp)
    log = staticmethod(xp.log)
    log1p = staticmethod(xp.log1p)
    sqrt = staticmethod(xp.sqrt)
    sin = staticmethod(xp.sin)
    cos = staticmethod(xp.cos)
    sinh = staticmethod(xp.sinh)
    cosh = staticmethod(xp.cosh)
    tanh = staticmethod(xp.tanh)
    abs = staticmethod(xp.abs)
    square = staticmethod(xp.square)
    reciprocal = staticmethod(xp.reciprocal)
    maximum = staticmethod(xp.maximum)
    minimum = staticmethod(xp.minimum)

    # elementwise family: ember's ops where NumPy has none or another meaning; each result
    # takes its float input's dtype, as the op's does
    @staticmethod
    def above_zero(x):
        """1 where ``x > 0``, else 0 (NaN too), as ``x``'s float dtype: a gradient times
        this float mask is the gradient times the bool ``x > 0``, bit for bit, twice as
        fast on large arrays (NumPy's bool-by-float product casts element by element). A
        small array keeps the bool mask, which costs less to make."""
        if x.size < 1024 or x.dtype not in _BLAS_FLOATS:
            return x > 0
        return xp.greater(x, 0, out=xp.empty_like(x), casting="unsafe")

    @staticmethod
    def sgn(x):
        """The sign, 0 at NaN (as ember's ``sign`` and ``sgn``; NumPy's ``sign`` gives NaN)."""
        return xp.where(xp.isnan(x), 0, xp.sign(x))

    sign = sgn

    @staticmethod
    def rsqrt(x):
        return 1 / xp.sqrt(x)

    sinc = staticmethod(xp.sinc)

    @staticmethod
    def erfinv(x):
        return _erfinv_array(x).astype(x.dtype, copy=False)

    @staticmethod
    def digamma(x):
        return _polygamma_array(0, x).astype(x.dtype, copy=False)

    @staticmethod
    def polygamma(n, x):
        return _polygamma_array(n, x).astype(x.dtype, copy=False)

    @staticmethod
    def i0(x):
        return xp.i0(x.astype(xp.float64)).astype(x.dtype, copy=False)

    @staticmethod
    def i1(x):
        return _i1_array(x).astype(x.dtype, copy=False)

    # reductions and shapes
    @staticmethod
    def sum(x, axis=None, keepdims=False, where=True):
        return x.sum(axis=axis, keepdims=keepdims, where=where)  # the method skips a wrapper

    @staticmethod
    def sum_rows(x):
        """``x.sum(axis=0)`` of a 2-d array (a linear layer's bias gradient). A float32 or
        float64 one of ``ROWS_BY_BLAS`` entries or more is summed as ``ones @ x``, BLAS's
        vector-matrix product: 2 to 3 times as fast as NumPy's column sums, the same sums in
        another order."""
        if x.size < ROWS_BY_BLAS or x.dtype not in _BLAS_FLOATS:
            return x.sum(axis=0)
        return xp.matmul(xp.ones(x.shape[0], x.dtype, like=x), x)

    @staticmethod
    def reshape(x, shape):
        return x.reshape(shape)

    @staticmethod
    def broadcast_to(x, shape):
        """A large result is a broadcast view, as PyTorch's expand is; a small one is filled
        into a new array instead, which costs less than making the view."""
        if prod(shape) > 1 << 16:
            return xp.broadcast_to(x, shape)
        # ``like`` keeps a CUDA ``x``'s device; a NumPy scalar cannot be its reference
        expanded = xp.empty(shape, x.dtype, like=None if isinstance(x, xp.generic) else x)
        expanded[...] = x
        return expanded

    @staticmethod
    def transpose(x, axes):
        return x.transpose(axes)

    @staticmethod
    def swapaxes(x, axis1, axis2):
        return x.swapaxes(axis1, axis2)

    matmul = staticmethod(xp.matmul)

    # creation and casts
    zeros_like = staticmethod(xp.zeros_like)

    @staticmethod
    def astype(x, dtype):
        """``x`` as NumPy ``dtype`` (an array, or a tensor in ``TensorMath``)."""
        return x.astype(dtype)

    # nn functional family: a ``dtype`` argument is one as this namespace's values report it
    @staticmethod
    def sigmoid(x):
        """1 / (1 + exp(-x)), from exp(-|x|) so that neither tail overflows."""
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    @staticmethod
    def erf(x):
        return _erf_array(x).astype(x.dtype, copy=False)

    logaddexp = staticmethod(xp.logaddexp)

    @staticmethod
    def clip(a, a_min, a_max):
        """NumPy's ``clip``; with one bound None, its ufunc alone (``clip`` costs more)."""
        if a_max is None:
            return xp.maximum(a, a_min)
        if a_min is None:
            return xp.minimum(a, a_max)
        return xp.clip(a, a_min, a_max)

    expand_dims = staticmethod(xp.expand_dims)
    asarray = staticmethod(asarray)

    # shape and reduction families
    @staticmethod
    def pad(array, pad_width):
        """NumPy's ``pad`` in its default mode, zeros: ``pad_width`` holds a non-negative
        ``(before, after)`` pair per dim. One zeroed buffer and one copy."""
        pairs = tuple(zip(array.shape, pad_width))
        padded = xp.zeros(tuple(size + before + after for size, (before, after) in pairs),
                          array.dtype, like=array)
        padded[tuple(slice(before, before + size) for size, (before, _) in pairs)] = array
        return padded

    # indexing, matmul and softmax families: ``key`` is an index key of ``ops/indexing.py``
    get_at = staticmethod(_index_key.read)

    @staticmethod
    def set_at(x, key, values):
        """A copy of ``x`` with ``values`` written at ``key``."""
        out = x.copy()
        _index_key.write(out, key, values, False)
        return out

    @staticmethod
    def add_at_zeros(shape, key, values):
        """Zeros of ``shape`` with ``values`` added at ``key``, as NumPy's ``add.at``: a
        position that ``key`` names twice receives both values."""
        out = xp.zeros(shape, values.dtype, like=values)
        _index_key.write(out, key, values, True)
        return out

    @staticmethod
    def masked_fill(x, mask, value):
        """``where(mask, value, x)`` for a boolean array ``mask`` of ``x``'s shape, made as a
        copy and one masked write: cheaper than ``where`` when ``mask`` is broadcast."""
        out = x.copy()
        xp.copyto(out, value, where=mask)
        return out
