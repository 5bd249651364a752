"""``ember.distributed``: collectives across processes, on MPI (Open MPI through mpi4py).

Launch the processes with ``mpirun -np N python train.py``; each calls
``init_process_group(backend="mpi")`` and learns its rank and the world size from the
launcher. Collectives work in place on tensors, as PyTorch's do.

Every collective first checks that all ranks agree on what they are doing (which
collective, which reduce op, the tensor's dtype and shape) in one tiny all-reduce: a
mismatch raises on every rank instead of producing a silently wrong result. The data then
moves in one blocking MPI call on the tensor's own array: no copies. With the ``nccl``
backend, CUDA tensors go through NCCL (CuPy's bindings) on the current stream, with no
copy to the host; with ``mpi``, ``all_reduce`` and ``broadcast`` of CUDA tensors pass
through host memory. A watchdog thread
bounds every collective by the group's ``timeout`` (default 30 minutes, as PyTorch): a
rank that died or never arrives makes the waiting ranks print which collective timed out
and abort the job, instead of hanging forever. And a rank that ends with an uncaught
exception aborts the job at once (``_abort.py``), rather than leaving the others waiting
for it.
"""

from __future__ import annotations

import datetime
import functools
import struct
import sys
import threading
import time
from enum import Enum

from ember import _backend, _device
from ember._backend import device_index, to_host, xp
from ember._tensor import Tensor
from ember.distributed import _abort

__all__ = [
    "ReduceOp", "is_available", "init_process_group", "is_initialized", "is_mpi_available",
    "get_rank", "get_world_size", "get_backend", "barrier", "destroy_process_group",
    "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter",
    "reduce_scatter_tensor", "gather", "scatter", "reduce", "all_gather_object",
    "broadcast_object_list", "save_on_rank", "new_group", "GroupMember",
]


class ReduceOp(Enum):
    """How ``all_reduce`` and friends combine the ranks' values."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"

    # Members are singletons, equal only to themselves: the identity hash (in C) keeps dict
    # lookups on the collectives' hot path clear of Enum's Python-level __hash__.
    __hash__ = object.__hash__


_DEFAULT_TIMEOUT = 1800.0  # seconds: PyTorch's default for every backend but NCCL


class _State:
    comm = None
    backend = None
    timeout = _DEFAULT_TIMEOUT
    deadline = None  # when the collective under way times out (None: none under way)
    current = ""
    watchdog = None
    mpi = None  # the mpi4py.MPI module, imported by init_process_group
    nccl = None  # the NCCL communicator of the 'nccl' backend, and CuPy's NCCL module
    nccl_module = None
    reduce_ops = None  # ReduceOp -> (its code in signatures, the MPI op, whether to average)


_state = _State()


class GroupMember:
    """``WORLD`` stands for the default group (the only group ember has)."""

    WORLD = None


def is_available() -> bool:
    """True when mpi4py (and so an MPI library) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


is_mpi_available = is_available


def init_process_group(backend: str | None = "mpi", init_method=None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "",
                       pg_options=None, device_id=None) -> None:
    """Join the processes started by ``mpirun`` into the default group.

    Args:
        backend: ``"mpi"``, or ``"nccl"`` for CUDA tensors (NCCL through CuPy; MPI still
            starts the ranks and carries the checks). ``"gloo"`` is accepted too and runs
            on MPI, so that CPU scripts written for PyTorch run unchanged.
        timeout: a ``datetime.timedelta`` (default 30 minutes): a collective that waits
            longer prints which collective timed out on which rank and aborts the job.
        world_size, rank: if given, must agree with what the MPI launcher says.

    With more than one rank, an uncaught exception in the main thread of any rank prints
    its traceback prefixed with the rank (``[rank1]: ...``) and aborts the whole job, so
    that no rank is left waiting for the failed one; ``destroy_process_group`` removes that
    hook.
    """
    if _state.comm is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if backend not in (None, "mpi", "gloo", "cpu:gloo", "cpu:mpi", "nccl", "cuda:nccl"):
        raise ValueError(
            "ember.distributed supports the 'mpi' and 'nccl' backends (and 'gloo', which runs "
            f"on MPI); got {backend!r}"
        )
    nccl = _backend.nccl() if backend in ("nccl", "cuda:nccl") else None
    if not is_available():
        raise RuntimeError(
            "ember.distributed needs mpi4py and an MPI library: pip install 'ember[distributed]' "
            "(and Open MPI, e.g. apt-get install openmpi-bin libopenmpi-dev)"
        )
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if world_size not in (-1, comm.Get_size()) or rank not in (-1, comm.Get_rank()):
        raise ValueError(
            f"init_process_group: world_size={world_size}, rank={rank} disagree with the MPI "
            f"launcher (world size {comm.Get_size()}, rank {comm.Get_rank()})"
        )
    _state.comm, _state.backend, _state.mpi = comm, "mpi", MPI
    if nccl is not None:
        _state.nccl, _state.nccl_module = _nccl_communicator(comm, nccl), nccl
        _state.backend = "nccl"
    _state.reduce_ops = {
        op: (code, getattr(MPI, name), op is ReduceOp.AVG)
        for op, (code, name) in _REDUCE_OPS.items()
    }
    _state.timeout = _DEFAULT_TIMEOUT
    if timeout is not None:
        _state.timeout = (timeout.total_seconds() if isinstance(timeout, datetime.timedelta)
                          else float(timeout))
    if comm.Get_size() > 1:  # alone, no rank can be left waiting: Python's own exit is clearer
        _abort.install(comm)
    if _state.watchdog is None:
        _state.watchdog = threading.Thread(target=_watch, name="ember-distributed-watchdog",
                                           daemon=True)
        _state.watchdog.start()


def _nccl_communicator(comm, nccl):
    """This rank's NCCL communicator, on its current GPU: rank 0's unique id reaches the
    others through MPI."""
    unique_id = comm.bcast(nccl.get_unique_id() if comm.Get_rank() == 0 else None, root=0)
    with _backend.on_device(_device.state.current_gpu):
        return nccl.NcclCommunicator(comm.Get_size(), unique_id, comm.Get_rank())


def _watch() -> None:
    """Abort the job when one collective has waited longer than the group's timeout."""
    while True:
        time.sleep(min(1.0, max(_state.timeout / 20, 0.05)))
        deadline, comm = _state.deadline, _state.comm
        if deadline is None or comm is None or time.monotonic() < deadline:
            continue
        rank = comm.Get_rank()
        message = (
            f"[rank{rank}]: ember.distributed.{_state.current} timed out after "
            f"{_state.timeout:.0f} s on rank {rank}: a rank may have died or never reached this "
            "collective; aborting the job"
        )
        print(message, file=sys.stderr, flush=True)
        print(message, flush=True)
        comm.Abort(1)


def _collective(function):
    """Run ``function`` with the watchdog's deadline set."""

    @functools.wraps(function)
    def guarded(*args, **kwargs):
        _state.current = function.__name__
        _state.deadline = time.monotonic() + _state.timeout
        try:
            return function(*args, **kwargs)
        finally:
            _state.deadline = None

    return guarded


def is_initialized() -> bool:
    return _state.comm is not None


def _comm():
    if _state.comm is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _state.comm


def get_rank(group=None) -> int:
    return _comm().Get_rank()


def get_world_size(group=None) -> int:
    return _comm().Get_size()


def get_backend(group=None) -> str:
    _comm()
    return _state.backend


def new_group(ranks=None, timeout=None, backend=None, pg_options=None):
    """Only the whole world is supported as a group; returns ``GroupMember.WORLD``."""
    if ranks is not None and sorted(ranks) != list(range(get_world_size())):
        raise NotImplementedError("ember.distributed supports only the default (world) group")
    return GroupMember.WORLD


def destroy_process_group(group=None) -> None:
    """Leave the default group; an uncaught exception no longer aborts the other ranks."""
    _abort.uninstall()
    if _state.nccl is not None:
        _state.nccl.destroy()
    _state.comm = _state.nccl = _state.nccl_module = None
    _state.backend = None


def _wait(request, name: str) -> None:
    """Wait for a non-blocking MPI request, raising after the group's timeout."""
    if request.Test():
        return
    start = time.monotonic()
    deadline = start + _state.timeout
    pause = 1e-5
    while not request.Test():
        now = time.monotonic()
        if now - start < 2e-4:
            continue  # the other ranks are usually a few microseconds away: spin first
        if now > deadline:
            raise RuntimeError(
                f"ember.distributed.{name} timed out after {_state.timeout:.0f} s on rank "
                f"{_state.comm.Get_rank()}: a rank may have died or never reached this collective"
            )
        time.sleep(pause)  # yields the core: ranks often outnumber cores
        pause = min(pause * 2, 1e-3)


# The collectives that check their tensors, numbered for the signature.
_COLLECTIVES = {
    name: code for code, name in enumerate(
        ("all_reduce", "reduce", "broadcast", "all_gather_into_tensor", "all_gather",
         "reduce_scatter_tensor", "gather", "scatter"), 1)
}
# The reduce ops, numbered for the signature (0 stands for none), and the MPI op each runs.
_REDUCE_OPS = {
    ReduceOp.SUM: (1, "SUM"), ReduceOp.AVG: (2, "SUM"), ReduceOp.PRODUCT: (3, "PROD"),
    ReduceOp.MIN: (4, "MIN"), ReduceOp.MAX: (5, "MAX"),
}

# A rank's signature is three int64 words, then their bitwise complements: the dtype
# number, collective and reduce op packed exactly into one word (the last two are < 256),
# the element count, and the hash of the shape (tuples of ints hash alike in every process;
# only strings are salted). A bitwise-AND all-reduce returns a rank's buffer unchanged
# exactly when every rank sent the same words: the AND of the words keeps only the bits all
# ranks set, the AND of the complements only the bits all ranks clear.
_SIGNATURE = struct.Struct("=6q")


def _check_same(name: str, array, op_code: int = 0) -> None:
    """Raise on every rank unless all ranks passed the same collective, op, dtype and shape."""
    kind = (array.dtype.num << 16) | (_COLLECTIVES[name] << 8) | op_code
    size, shape = array.size, hash(array.shape)
    mine = _SIGNATURE.pack(kind, size, shape, ~kind, ~size, ~shape)
    agreed = bytearray(mine)
    _state.comm.Allreduce(_state.mpi.IN_PLACE, agreed, op=_state.mpi.BAND)
    if agreed != mine:
        _report_mismatch(name, array, op_code)


def _report_mismatch(name: str, array, op_code: int) -> None:
    """The slow path after a failed check: gather what each rank passed and say who differs."""
    ops = {code: op for op, (code, _) in _REDUCE_OPS.items()}
    described = f"{name} of a {array.dtype.name} tensor of shape {array.shape}"
    if op_code:
        described += f" with {ops[op_code]}"
    ranks_by_call: dict = {}
    for rank, call in enumerate(_state.comm.allgather(described)):
        ranks_by_call.setdefault(call, []).append(str(rank))
    calls = "; ".join(
        f"{'ranks' if len(ranks) > 1 else 'rank'} {', '.join(ranks)}: {call}"
        for call, ranks in ranks_by_call.items()
    )
    raise RuntimeError(
        f"ember.distributed.{name}: the ranks disagree ({calls}); every rank must pass the same "
        "shapes and dtypes (and the same op) to the same collective"
    )


def _reduce_op(op: ReduceOp) -> tuple:
    """``op``'s code in signatures, its MPI op, and whether to average after it."""
    try:
        return _state.reduce_ops[op]
    except (KeyError, TypeError):
        raise TypeError(f"expected an ember.distributed.ReduceOp, got {op!r}") from None


def _buffer(tensor: Tensor, name: str = "", on_device: bool = False):
    """The tensor's array; a CUDA tensor's only where the collective takes one."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"expected an ember Tensor, got {type(tensor).__name__}")
    array = tensor._data
    if not on_device and device_index(array) is not None:
        raise NotImplementedError(
            f"ember.distributed.{name or 'this collective'}: CUDA tensors are taken by "
            "all_reduce and broadcast (and DistributedDataParallel); copy this one to the CPU"
        )
    if not array.flags.c_contiguous:
        raise ValueError(
            "ember.distributed collectives need contiguous tensors; call .contiguous()"
        )
    return array


_NCCL_OPS = {ReduceOp.SUM: "NCCL_SUM", ReduceOp.AVG: "NCCL_SUM", ReduceOp.PRODUCT: "NCCL_PROD",
             ReduceOp.MIN: "NCCL_MIN", ReduceOp.MAX: "NCCL_MAX"}


def _nccl_type(array) -> int:
    try:
        return getattr(_state.nccl_module, f"NCCL_{array.dtype.name.upper()}")
    except AttributeError:
        raise TypeError(f"NCCL has no {array.dtype.name} type") from None


def _device_all_reduce(array, op: ReduceOp) -> None:
    """All-reduce a CUDA array in place (without the average): through NCCL on the current
    stream, or through a host copy where the backend is MPI."""
    if _state.nccl is None:
        host = to_host(array)
        _state.comm.Allreduce(_state.mpi.IN_PLACE, host, op=_reduce_op(op)[1])
        array[...] = host
        return
    pointer = _backend.address(array)
    _state.nccl.allReduce(pointer, pointer, array.size, _nccl_type(array),
                          getattr(_state.nccl_module, _NCCL_OPS[op]),
                          _backend.current_stream_pointer())


class _Work:
    """What ``async_op=True`` returns: the collective already finished, ``wait()`` is free."""

    def wait(self, timeout=None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True


def _done(async_op: bool):
    return _Work() if async_op else None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` across all ranks with ``op``; every rank gets the result in place."""
    # The hot path of data-parallel training sets the watchdog's deadline itself rather than
    # through @_collective: once a large all-reduce has swept the CPU caches, the Python
    # that runs next is cold, and each call layer costs microseconds.
    comm, array = _comm(), _buffer(tensor, on_device=True)
    op_code, mpi_op, average = _reduce_op(op)
    _state.current = "all_reduce"
    _state.deadline = time.monotonic() + _state.timeout
    try:
        _check_same("all_reduce", array, op_code)
        if average and array.dtype.kind != "f":
            raise RuntimeError(
                "ember.distributed.all_reduce: ReduceOp.AVG needs a floating-point tensor"
            )
        if type(array) is xp.ndarray:
            comm.Allreduce(_state.mpi.IN_PLACE, array, op=mpi_op)
        else:
            _device_all_reduce(array, op)
    finally:
        _state.deadline = None
    if average:
        array /= comm.Get_size()
    tensor._version_counter[0] += 1
    return _Work() if async_op else None


@_collective
def reduce(tensor: Tensor, dst: int = 0, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False):
    """Combine ``tensor`` across ranks into rank ``dst``'s tensor."""
    comm, array = _comm(), _buffer(tensor, "reduce")
    op_code, mpi_op, average = _reduce_op(op)
    _check_same("reduce", array, op_code)
    is_root = comm.Get_rank() == dst
    if is_root:
        comm.Reduce(_state.mpi.IN_PLACE, array, op=mpi_op, root=dst)
    else:
        comm.Reduce(array, None, op=mpi_op, root=dst)
    if average and is_root:
        array /= comm.Get_size()
    return _done(async_op)


@_collective
def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``."""
    comm, array = _comm(), _buffer(tensor, on_device=True)
    _check_same("broadcast", array)
    if type(array) is xp.ndarray:
        comm.Bcast(array, root=src)
    elif _state.nccl is not None:
        _state.nccl.bcast(_backend.address(array), array.size, _nccl_type(array), src,
                          _backend.current_stream_pointer())
    else:
        host = to_host(array)
        comm.Bcast(host, root=src)
        array[...] = host
    tensor._version_counter[0] += 1
    return _done(async_op)


@_collective
def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op: bool = False):
    """Concatenate every rank's ``input_tensor`` along dim 0 into ``output_tensor``."""
    comm, array = _comm(), _buffer(input_tensor, "all_gather_into_tensor")
    _check_same("all_gather_into_tensor", array)
    world = comm.Get_size()
    if output_tensor.numel() != input_tensor.numel() * world:
        raise ValueError(
            f"all_gather_into_tensor: output has {output_tensor.numel()} elements, expected "
            f"{input_tensor.numel()} x {world}"
        )
    comm.Allgather(array, _buffer(output_tensor))
    return _done(async_op)


@_collective
def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[i]`` with rank ``i``'s ``tensor``."""
    comm, array = _comm(), _buffer(tensor, "all_gather")
    world = comm.Get_size()
    if len(tensor_list) != world:
        raise ValueError(
            f"all_gather: tensor_list has {len(tensor_list)} entries, world size is {world}"
        )
    _check_same("all_gather", array)
    gathered = xp.empty((world,) + array.shape, dtype=array.dtype)
    comm.Allgather(array, gathered)
    for index, target in enumerate(tensor_list):
        target._data[...] = gathered[index]
    return _done(async_op)


@_collective
def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM, group=None,
                          async_op: bool = False):
    """Reduce ``input`` across ranks, then give rank ``i`` the ``i``-th slice along dim 0."""
    comm, array = _comm(), _buffer(input, "reduce_scatter_tensor")
    op_code, mpi_op, average = _reduce_op(op)
    _check_same("reduce_scatter_tensor", array, op_code)
    world = comm.Get_size()
    if input.numel() != output.numel() * world:
        raise ValueError("reduce_scatter_tensor: input must have world_size x output's "
                         f"{output.numel()} elements")
    comm.Reduce_scatter_block(array, _buffer(output), op=mpi_op)
    if average:
        output._data /= world
    return _done(async_op)


@_collective
def reduce_scatter(output: Tensor, input_list: list, op: ReduceOp = ReduceOp.SUM, group=None,
                   async_op: bool = False):
    """Reduce ``input_list[i]`` across ranks into rank ``i``'s ``output``."""
    world = get_world_size()
    if len(input_list) != world:
        raise ValueError(
            f"reduce_scatter: input_list has {len(input_list)} entries, world size is {world}"
        )
    stacked = Tensor._make(xp.ascontiguousarray(xp.stack([t._data for t in input_list])))
    return reduce_scatter_tensor(output, stacked, op, group, async_op)


@_collective
def gather(tensor: Tensor, gather_list: list | None = None, dst: int = 0, group=None,
           async_op: bool = False):
    """Collect every rank's ``tensor`` into ``gather_list`` on rank ``dst``."""
    comm, array = _comm(), _buffer(tensor, "gather")
    _check_same("gather", array)
    is_root = comm.Get_rank() == dst
    if is_root and (gather_list is None or len(gather_list) != comm.Get_size()):
        raise ValueError("gather: on the destination rank, gather_list needs world_size tensors")
    received = xp.empty((comm.Get_size(),) + array.shape, dtype=array.dtype) if is_root else None
    comm.Gather(array, received, root=dst)
    if is_root:
        for index, target in enumerate(gather_list):
            target._data[...] = received[index]
    return _done(async_op)


@_collective
def scatter(tensor: Tensor, scatter_list: list | None = None, src: int = 0, group=None,
            async_op: bool = False):
    """Give rank ``i`` the tensor ``scatter_list[i]`` of rank ``src``."""
    comm, array = _comm(), _buffer(tensor, "scatter")
    _check_same("scatter", array)
    is_root = comm.Get_rank() == src
    if is_root and (scatter_list is None or len(scatter_list) != comm.Get_size()):
        raise ValueError("scatter: on the source rank, scatter_list needs world_size tensors")
    sent = xp.ascontiguousarray(xp.stack([t._data for t in scatter_list])) if is_root else None
    comm.Scatter(sent, array, root=src)
    tensor._version_counter[0] += 1
    return _done(async_op)


@_collective
def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank has reached this call."""
    _comm().Barrier()
    return _done(async_op)


@_collective
def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill ``object_list[i]`` with rank ``i``'s ``obj`` (plain data: numbers, strings, lists)."""
    for index, value in enumerate(_comm().allgather(obj)):
        object_list[index] = value


@_collective
def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Replace ``object_list``'s items with those of rank ``src``."""
    values = _comm().bcast(list(object_list), root=src)
    object_list[:] = values


def save_on_rank(obj, f, rank: int = 0) -> None:
    """Checkpoint from one rank only: rank ``rank`` calls ``ember.save``, the others wait.

    Example::

        dist.save_on_rank({"model": ddp.module.state_dict(), "epoch": epoch}, "ckpt.safetensors")
    """
    from ember.serialization import save

    if get_rank() == rank:
        save(obj, f)
    barrier()
