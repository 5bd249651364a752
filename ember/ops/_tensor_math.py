"""ember's differentiable ops under NumPy's names: the namespace of a recorded backward.

A gradient formula (``gradients(xp, ctx, *grads)``, see ``_array_math.py``) run on
``TensorMath`` computes with ember's own ops, so under ``create_graph=True`` the backward
pass is itself recorded and can be differentiated again. ``ember.ops`` hands this class
to ``Op`` once every op exists.
"""

from __future__ import annotations

from operator import attrgetter

from ember._dtype import from_numpy_dtype
from ember.ops import creation, elementwise, indexing, reduction, shape
from ember.ops.matmul import matmul as _matmul


class TensorMath:
    """The names of ``ArrayMath``, each one ember's op of that meaning."""

    # What the forward saved, as tensors still connected to the graph: ``saved(ctx)``.
    saved = attrgetter("saved_tensors")

    # elementwise
    where = staticmethod(elementwise.where)
    exp = staticmethod(elementwise.exp)
    log = staticmethod(elementwise.log)
    log1p = staticmethod(elementwise.log1p)
    sqrt = staticmethod(elementwise.sqrt)
    sin = staticmethod(elementwise.sin)
    cos = staticmethod(elementwise.cos)
    sinh = staticmethod(elementwise.sinh)
    cosh = staticmethod(elementwise.cosh)
    tanh = staticmethod(elementwise.tanh)
    abs = staticmethod(elementwise.abs)
    sign = staticmethod(elementwise.sign)
    square = staticmethod(elementwise.square)
    reciprocal = staticmethod(elementwise.reciprocal)
    maximum = staticmethod(elementwise.maximum)
    minimum = staticmethod(elementwise.minimum)

    # elementwise family
    sgn = staticmethod(elementwise.sgn)
    rsqrt = staticmethod(elementwise.rsqrt)
    sinc = staticmethod(elementwise.sinc)
    erfinv = staticmethod(elementwise.erfinv)
    digamma = staticmethod(elementwise.digamma)
    polygamma = staticmethod(elementwise.polygamma)
    i0 = staticmethod(elementwise.i0)
    i1 = staticmethod(elementwise._I1.apply)  # torch.special.i1; ember.special builds on it

    @staticmethod
    def above_zero(x):
        """``x > 0`` (``ArrayMath``'s is the same mask as a float array)."""
        return x > 0

    # reductions and shapes
    @staticmethod
    def sum(x, axis=None, keepdims=False, where=True):
        if where is not True:  # a boolean array: the entries to sum
            x = elementwise.where(where, x, 0.0)
        if axis is None and not keepdims:
            return reduction.sum(x)
        return reduction.sum(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def sum_rows(x):
        """``x.sum(axis=0)`` of a 2-d tensor (``ArrayMath``'s may sum in another order)."""
        return reduction.sum(x, dim=0)

    @staticmethod
    def reshape(x, shape_):
        return shape.reshape(x, tuple(shape_))

    @staticmethod
    def broadcast_to(x, shape_):
        return shape.expand(x, tuple(shape_))

    @staticmethod
    def transpose(x, axes):
        return shape.permute(x, tuple(axes))

    @staticmethod
    def swapaxes(x, axis1, axis2):
        return shape.transpose(x, axis1, axis2)

    matmul = staticmethod(_matmul)

    # creation and casts
    zeros_like = staticmethod(creation.zeros_like)

    @staticmethod
    def astype(x, dtype):
        return x.to(from_numpy_dtype(dtype))

    # nn functional family: a ``dtype`` argument is an ember dtype, as a tensor's ``.dtype``
    sigmoid = staticmethod(elementwise.sigmoid)
    erf = staticmethod(elementwise.erf)
    logaddexp = staticmethod(elementwise.logaddexp)

    @staticmethod
    def clip(a, a_min, a_max):
        return elementwise.clamp(a, a_min, a_max)

    @staticmethod
    def expand_dims(a, axis):
        return shape.unsqueeze(a, axis)

    @staticmethod
    def asarray(a, dtype=None):
        return creation.as_tensor(a, dtype=dtype)

    # shape and reduction families
    @staticmethod
    def pad(array, pad_width):
        """Zeros around ``array``: ``pad_width`` holds a ``(before, after)`` pair per dim."""
        return shape.pad(array, [width for pair in reversed(pad_width) for width in pair])

    # indexing, matmul and softmax families: ``key`` is an index key of ``ops/indexing.py``
    @staticmethod
    def get_at(x, key):
        return indexing.Index.apply(x, key)

    @staticmethod
    def set_at(x, key, values):
        return indexing.IndexPut.apply(x, values, key, False)

    @staticmethod
    def add_at_zeros(shape_, key, values):
        zeros = creation.zeros(tuple(shape_), dtype=values.dtype, device=values.device)
        return indexing.IndexPut.apply(zeros, values, key, True)

    @staticmethod
    def masked_fill(x, mask, value):
        return indexing.MaskedFill.apply(x, value, mask)
