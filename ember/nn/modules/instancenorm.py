"""The instance norms at PyTorch's path (defined with the batch norms they share a base with),
and their ``Lazy`` forms."""

from ember.nn.modules.batchnorm import (
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    _InstanceNorm,
    _LazyNormBase,
)

__all__ = [
    "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "_InstanceNorm",
    "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
]  # fmt: skip


class LazyInstanceNorm1d(_LazyNormBase, _InstanceNorm):
    """An ``InstanceNorm1d`` whose ``num_features`` is dim 1 of its first input, which turns
    it into an ``InstanceNorm1d``. As in PyTorch, ``affine`` and ``track_running_stats``
    default to True here (``InstanceNorm1d``'s default to False)."""

    cls_to_become = InstanceNorm1d
    spatial_rank = 1


class LazyInstanceNorm2d(_LazyNormBase, _InstanceNorm):
    """An ``InstanceNorm2d`` whose ``num_features`` is dim 1 of its first input, which turns
    it into an ``InstanceNorm2d`` (``affine`` and ``track_running_stats`` default to True)."""

    cls_to_become = InstanceNorm2d
    spatial_rank = 2


class LazyInstanceNorm3d(_LazyNormBase, _InstanceNorm):
    """An ``InstanceNorm3d`` whose ``num_features`` is dim 1 of its first input, which turns
    it into an ``InstanceNorm3d`` (``affine`` and ``track_running_stats`` default to True)."""

    cls_to_become = InstanceNorm3d
    spatial_rank = 3
