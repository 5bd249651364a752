"""``DistributedDataParallel``: the same model on every rank, gradients averaged after backward.

At construction rank 0's parameters and buffers are broadcast to every rank. During
backward, parameters are grouped into buckets of about ``bucket_cap_mb``; as soon as
every gradient of a bucket has been accumulated, the bucket is flattened into one buffer
and a non-blocking all-reduce starts, while backward goes on with the remaining
layers. When backward ends, the engine calls back: the remaining buckets are reduced,
every reduction is waited for, and the averages are written into ``.grad``. CUDA
gradients are reduced by NCCL on the GPU with the ``nccl`` backend, and through host
memory with ``mpi``.
"""

from __future__ import annotations

import contextlib

from ember._backend import to_host, xp
from ember.autograd import engine
from ember.nn.modules.module import Module, set_quietly

_QUEUED = object()  # a bucket whose all-reduce NCCL runs in stream order: nothing to wait for


class _Bucket:
    def __init__(self, parameters):
        self.parameters = parameters
        self.ready = 0
        self.request = None
        self.buffer = None


class DistributedDataParallel(Module):
    """Wrap ``module`` so that training on N ranks equals training on their joint batch.

    Args:
        module: the model; ``ddp.module`` gives it back (its state_dict keys have no
            ``module.`` prefix, the wrapper's do, as in PyTorch).
        broadcast_buffers: copy rank 0's buffers to every rank before each forward.
        bucket_cap_mb: the size of a gradient bucket (few large all-reduces, not one per
            parameter).
        find_unused_parameters: accepted; parameters that receive no gradient are reduced
            as zeros at the end of backward in any case.

    Example::

        dist.init_process_group("mpi")
        model = DistributedDataParallel(Net())
        loss = criterion(model(x_local), y_local); loss.backward(); optimizer.step()
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False, **kwargs):
        super().__init__()
        from ember import distributed as dist

        if not dist.is_initialized():
            raise ValueError(
                "Default process group has not been initialized, please make sure to call "
                "init_process_group."
            )
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self.find_unused_parameters = find_unused_parameters
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        parameters = [p for p in module.parameters() if p.requires_grad]
        set_quietly(self, "_buckets", self._make_buckets(list(reversed(parameters)), cap))
        bucket_of = {id(p): b for b in self._buckets for p in b.parameters}
        set_quietly(self, "_bucket_of", bucket_of)
        set_quietly(self, "_pending", False)
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor, 0)
        for parameter in parameters:
            parameter.register_post_accumulate_grad_hook(self._on_gradient)

    @staticmethod
    def _make_buckets(parameters, cap: int) -> list:
        buckets, current, size = [], [], 0
        for parameter in parameters:
            current.append(parameter)
            size += parameter._data.nbytes
            if size >= cap:
                buckets.append(_Bucket(current))
                current, size = [], 0
        if current:
            buckets.append(_Bucket(current))
        return buckets

    def forward(self, *inputs, **kwargs):
        from ember import distributed as dist

        if self.broadcast_buffers:
            for buffer in self.module.buffers():
                dist.broadcast(buffer, 0)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, gradients only accumulate locally; the next synced backward averages them."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # -- the reduction
    def _on_gradient(self, parameter) -> None:
        if not self.require_backward_grad_sync:
            return
        if not self._pending:
            set_quietly(self, "_pending", True)
            engine.queue_callback(self._finish)
        bucket = self._bucket_of[id(parameter)]
        bucket.ready += 1
        if bucket.ready == len(bucket.parameters):
            self._launch(bucket)

    def _launch(self, bucket: _Bucket) -> None:
        from mpi4py import MPI

        from ember import distributed as dist

        pieces = [
            p.grad._data.reshape(-1) if p.grad is not None
            else xp.zeros(p._data.size, p._data.dtype, like=p._data)
            for p in bucket.parameters
        ]
        bucket.buffer = xp.concatenate(pieces) if len(pieces) > 1 else pieces[0].copy()
        if type(bucket.buffer) is not xp.ndarray and dist.get_backend() == "nccl":
            dist._device_all_reduce(bucket.buffer, dist.ReduceOp.SUM)  # queued on the stream
            bucket.request = _QUEUED
            return
        bucket.buffer = to_host(bucket.buffer)  # MPI reduces host memory
        bucket.request = dist._comm().Iallreduce(MPI.IN_PLACE, bucket.buffer, op=MPI.SUM)

    def _finish(self) -> None:
        from ember import distributed as dist
        from ember.ops.creation import zeros_like

        world = dist.get_world_size()
        for bucket in self._buckets:
            if bucket.request is None:
                self._launch(bucket)
        for bucket in self._buckets:
            if bucket.request is not _QUEUED:
                dist._wait(bucket.request, "DistributedDataParallel gradient all_reduce")
            bucket.buffer /= world
            offset = 0
            for parameter in bucket.parameters:
                size = parameter._data.size
                if parameter.grad is None:
                    parameter.grad = zeros_like(parameter)
                piece = bucket.buffer[offset : offset + size]
                parameter.grad._data[...] = piece.reshape(parameter.shape)
                offset += size
            bucket.ready, bucket.request, bucket.buffer = 0, None, None
        set_quietly(self, "_pending", False)
