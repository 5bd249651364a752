"""Batch normalization (``BatchNorm1d/2d/3d``) and instance normalization
(``InstanceNorm1d/2d/3d``).

Both keep, when ``track_running_stats``, the buffers ``running_mean`` (zeros),
``running_var`` (ones) and ``num_batches_tracked`` (an int64 count), and learn, when
``affine``, a per-channel ``weight`` (ones) and ``bias`` (zeros).
"""

from __future__ import annotations

import warnings

from ember._dtype import int64
from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn import functional as F, init
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.ops.creation import empty, ones, tensor, zeros

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
    "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
]  # fmt: skip


class _NormBase(Module):
    """The parameters, buffers and repr shared by batch and instance norm."""

    _version = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(empty(num_features, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


def _check_rank(input: Tensor, ranks: tuple) -> None:
    if input.ndim not in ranks:
        expected = " or ".join(f"{rank}D" for rank in ranks)
        raise ValueError(f"expected {expected} input (got {input.ndim}D input)")


class _BatchNorm(_NormBase):
    """y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, per channel (dim 1).

    In training the batch statistics normalize and the running ones, when tracked, move
    towards them: ``running = (1 - momentum) * running + momentum * batch`` with the
    unbiased batch variance (``momentum=None``: the cumulative average over all batches).
    In eval mode the running statistics normalize (the batch's if they are not tracked).
    """

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        use_buffers = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if use_buffers else None,
            self.running_var if use_buffers else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs: statistics over N (and L) per channel.

    Args:
        num_features: C.
        eps: added to the variance (default 1e-5).
        momentum: weight of the batch in the running statistics (default 0.1; ``None``
            for a cumulative average).
        affine: learn ``weight`` and ``bias`` (default True).
        track_running_stats: keep running statistics for eval mode (default True).

    Example::

        >>> layer = nn.BatchNorm1d(3)
        >>> layer(ember.randn(8, 3)).shape
        ember.Size([8, 3])
    """

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(input, (2, 3))


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs: statistics over N, H, W per channel."""

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(input, (4,))


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) inputs: statistics over N, D, H, W per channel."""

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(input, (5,))


class _InstanceNorm(_NormBase):
    """Normalization of each sample and channel over its spatial dims.

    ``affine`` and ``track_running_stats`` default to False. Inputs without the batch
    dim are accepted.
    """

    spatial_rank = 1

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(input, (self.spatial_rank + 1, self.spatial_rank + 2))

    def _apply_instance_norm(self, input: Tensor) -> Tensor:
        return F.instance_norm(
            input, self.running_mean, self.running_var, self.weight, self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0, self.eps,
        )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        unbatched = self.spatial_rank + 1
        feature_dim = input.ndim - unbatched
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match num_features"
                    f" ({self.num_features}), but got: {input.shape[feature_dim]}."
                )
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. You can "
                "silence this warning by not passing in num_features, which is not used "
                "because affine=False",
                stacklevel=2,
            )
        if input.ndim == unbatched:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) or (C, L) inputs."""

    spatial_rank = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) or (C, H, W) inputs."""

    spatial_rank = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over (N, C, D, H, W) or (C, D, H, W) inputs."""

    spatial_rank = 3
