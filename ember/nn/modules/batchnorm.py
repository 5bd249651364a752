"""Batch normalization (``BatchNorm1d/2d/3d``, and ``SyncBatchNorm`` across processes) and
instance normalization (``InstanceNorm1d/2d/3d``).

Both keep, when ``track_running_stats``, the buffers ``running_mean`` (zeros),
``running_var`` (ones) and ``num_batches_tracked`` (an int64 count), and learn, when
``affine``, a per-channel ``weight`` (ones) and ``bias`` (zeros). Checkpoints of older
versions load as in PyTorch: one without ``num_batches_tracked`` (before version 2) keeps the
layer's count, and an instance norm without running statistics refuses a pre-0.4 checkpoint
that has them, saying why. ``LazyBatchNorm1d/2d/3d`` (and, in ``instancenorm.py``,
``LazyInstanceNorm1d/2d/3d``) take ``num_features`` from their first input.
"""

from __future__ import annotations

import warnings

from ember._dtype import int64
from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn import functional as F, init
from ember.nn._functional.sync_batch_norm import sync_batch_norm
from ember.nn.modules.lazy import LazyModuleMixin
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter, UninitializedBuffer, UninitializedParameter
from ember.ops.creation import empty, ones, tensor, zeros

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm",
    "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
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

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # Version 2 added ``num_batches_tracked``: an older checkpoint keeps the layer's own.
        version = local_metadata.get("version", None)
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and \
                key not in state_dict:
            tracked = self.num_batches_tracked
            state_dict[key] = tracked if tracked is not None else tensor(0, dtype=int64)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

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
        factor, use_batch = self._step()
        running_mean, running_var = self._running()
        return F.batch_norm(input, running_mean, running_var, self.weight, self.bias, use_batch,
                            factor, self.eps)

    def _step(self) -> tuple:
        """Count a training step; the running statistics' momentum for it, and whether the
        batch's statistics normalize."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        return factor, use_batch

    def _running(self) -> tuple:
        """The running statistics to use or update (None, None in training without them)."""
        if not self.training or self.track_running_stats:
            return self.running_mean, self.running_var
        return None, None


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


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """A batch or instance norm whose ``num_features`` is dim 1 of its first input; its
    ``weight``, ``bias`` and running statistics wait uninitialized until then.

    As in PyTorch, ``affine`` and ``track_running_stats`` default to True for the lazy
    instance norms too.
    """

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(0, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        for name in ("weight", "bias"):
            if getattr(self, name) is not None:
                setattr(self, name, UninitializedParameter(device=device, dtype=dtype))
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        if not self.has_uninitialized_params():
            return
        self.num_features = input.shape[1]
        with no_grad():
            for value in (self.weight, self.bias, self.running_mean, self.running_var):
                if value is not None:
                    value.materialize((self.num_features,))
            self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm1d`` whose ``num_features`` is dim 1 of its first input, which turns it
    into a ``BatchNorm1d``. The arguments are ``BatchNorm1d``'s without ``num_features``.

    Example::

        >>> layer = nn.LazyBatchNorm1d()
        >>> layer(ember.randn(8, 3)).shape, layer.running_mean.shape
        (ember.Size([8, 3]), ember.Size([3]))
    """

    cls_to_become = BatchNorm1d

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(input, (2, 3))


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm2d`` whose ``num_features`` is dim 1 of its first input, which turns it
    into a ``BatchNorm2d``."""

    cls_to_become = BatchNorm2d

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(input, (4,))


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm3d`` whose ``num_features`` is dim 1 of its first input, which turns it
    into a ``BatchNorm3d``."""

    cls_to_become = BatchNorm3d

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(input, (5,))


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) inputs whose statistics, in training, are those of the
    whole batch split across the processes of ``ember.distributed``.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, with E and Var per channel over
    every rank's batch (each rank may hold a different number of samples). The forward
    all-reduces the count, the sums and the squared deviations; the backward all-reduces
    the two sums it needs, so every rank gets its part of the global batch's gradient (the
    gradients of ``weight`` and ``bias`` are this rank's part: DistributedDataParallel sums
    them). The running statistics move towards the global ones, identically on every rank.
    On one process (no process group, or a world of one), in eval mode and without batch
    statistics it is ``BatchNorm``. ember runs it on CPU tensors over MPI, where PyTorch
    asks for GPU tensors.

    Args:
        num_features: C.
        eps, momentum, affine, track_running_stats: as ``BatchNorm1d``.
        process_group: kept for PyTorch's signature; ember's collectives run on the world,
            its only group.

    Shape:
        input (N, C, *) → same shape.

    Example::

        >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        >>> model = nn.parallel.DistributedDataParallel(model)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")

    def _check_non_zero_input_channels(self, input: Tensor) -> None:
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        factor, use_batch = self._step()
        running_mean, running_var = self._running()
        if use_batch and self.training and _world_size() > 1:
            return sync_batch_norm(input, running_mean, running_var, self.weight, self.bias,
                                   factor, self.eps)
        return F.batch_norm(input, running_mean, running_var, self.weight, self.bias, use_batch,
                            factor, self.eps)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every batch norm layer in it (itself included) replaced by a
        ``SyncBatchNorm`` that holds the same parameters and buffers (the very tensors, so
        an optimizer made before still updates them) and training flag; state-dict keys
        are unchanged.

        Example::

            >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
            >>> type(nn.SyncBatchNorm.convert_sync_batchnorm(model)[1]).__name__
            'SyncBatchNorm'
        """
        converted = module
        if isinstance(module, _BatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group)
            if module.affine:
                with no_grad():
                    converted.weight = module.weight
                    converted.bias = module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.training = module.training
            if hasattr(module, "qconfig"):
                converted.qconfig = module.qconfig
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted


def _world_size() -> int:
    """The number of processes in the default group (1 where there is none)."""
    # ember.distributed sits above nn: imported when a layer asks, as DDP does.
    from ember import distributed

    return distributed.get_world_size() if distributed.is_initialized() else 1


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

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # Before 0.4 (no version in the metadata) instance norm kept running statistics by
        # default: such a checkpoint's are refused with the reason, and taken out.
        if local_metadata.get("version", None) is None and not self.track_running_stats:
            found = [prefix + name for name in ("running_mean", "running_var")
                     if prefix + name in state_dict]
            if found:
                klass = type(self).__name__
                error_msgs.append(
                    "Unexpected running stats buffer(s) {names} for {klass} with "
                    "track_running_stats=False. If state_dict is a checkpoint saved before "
                    "0.4.0, this may be expected because {klass} does not track running stats "
                    "by default since 0.4.0. Please remove these keys from state_dict. If the "
                    "running stats are actually needed, instead set track_running_stats=True "
                    "in {klass} to enable them. See the documentation of {klass} for "
                    "details.".format(names=" and ".join(f'"{key}"' for key in found),
                                      klass=klass)
                )
                for key in found:
                    state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

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
